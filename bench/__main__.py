"""Run benchmarks: uv run python -m bench [NAME ...] [NUMBERS...]. With no name, all of them.
Numbers after a name are that bench's own arguments (e.g. `load 60 32`: seconds, clients).
Results: a table per bench on stdout, bench/results/<name>.json, and bench/results/SUMMARY.md
(every figure of the latest run of each bench, with its target, baseline and ratio)."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys

from bench.common import RESULTS

BENCHES = ["resolution", "history", "adoption", "platform", "gateway", "pins", "scheduler", "api", "writes",
           "request_log", "load", "fuzz", "fanout"]


def summary() -> str:
    lines = ["# Benchmark summary", "", "Latest run of each bench on this machine (`uv run python -m bench`).", "",
             "| bench | figure | value | target | baseline | ratio | ok |", "|---|---|---|---|---|---|---|"]
    for name in BENCHES:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        for row in json.loads(path.read_text())["rows"]:
            value = f"{row['value']:.4g} {row.get('unit', '')}".strip()
            base = (f"{row['baseline']:.4g} ({row.get('baseline_name', '')})"
                    if row.get("baseline") is not None else "—")
            ratio = f"{row['ratio']:.2f}×" if row.get("ratio") is not None else "—"
            ok = {True: "yes", False: "NO", None: "—"}[row.get("ok")]
            lines.append(f"| {name} | {row['figure']} | {value} | {row.get('target', '—')} | {base} | {ratio} | {ok} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    names = [a for a in sys.argv[1:] if not a.replace(".", "").isdigit()]
    for name in names or BENCHES:
        if name not in BENCHES:
            raise SystemExit(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")
        asyncio.run(importlib.import_module(f"bench.{name}").main())
    (RESULTS / "SUMMARY.md").write_text(summary())
    print(f"\nsummary of every bench: {RESULTS / 'SUMMARY.md'}")


if __name__ == "__main__":
    main()
