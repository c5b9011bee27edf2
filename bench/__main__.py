"""Run every benchmark: uv run python -m bench [NAME ...]. Results: bench/results/*.json."""

from __future__ import annotations

import asyncio
import importlib
import sys

BENCHES = ["resolution", "scheduler"]


def main() -> None:
    for name in sys.argv[1:] or BENCHES:
        if name not in BENCHES:
            raise SystemExit(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")
        asyncio.run(importlib.import_module(f"bench.{name}").main())


if __name__ == "__main__":
    main()
