"""Run benchmarks: uv run python -m bench [NAME ...] [NUMBERS...]. With no name, all of them.
Numbers after a name are that bench's own arguments (e.g. `load 60 32`: seconds, clients).
Results: a table per bench on stdout, and bench/results/<name>.json."""

from __future__ import annotations

import asyncio
import importlib
import sys

BENCHES = ["resolution", "history", "adoption", "gateway", "scheduler", "api", "load", "fuzz"]


def main() -> None:
    names = [a for a in sys.argv[1:] if not a.replace(".", "").isdigit()]
    for name in names or BENCHES:
        if name not in BENCHES:
            raise SystemExit(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")
        asyncio.run(importlib.import_module(f"bench.{name}").main())


if __name__ == "__main__":
    main()
