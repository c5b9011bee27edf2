"""The write path (issue 16), each figure beside a baseline measured in the same run:

- single-key PATCH over HTTP (one `botsettings serve`) with 8 and with 32 clients, vs.
  pgbench running the per-change SQL of the pre-batch writer (bench/api.py's script:
  lock head, read the key, append, project, record the change, advance, notify — one
  transaction per change) with the same number of clients on the same server;
- PATCH p99 at each client count;
- one 10,000-key change through the service layer, vs. plain asyncpg writing the same
  rows in one transaction.

Propagation to another process is in bench/resolution.py, the mixed load in bench/load.py.

Run: uv run python -m bench writes [SECONDS]   (default 10 s per load phase)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from app.logging import configure_logging
from bench.api import big_change, closed_loop, pgbench_tps, raw_big_change
from bench.common import fresh_database, percentile, report
from bench.load import port_of
from bench.process import service_process


async def main() -> None:
    configure_logging("json", "warning")
    numbers = [a for a in sys.argv[2:] if a.replace(".", "").isdigit()]
    seconds = float(numbers[0]) if numbers else 10.0
    rows: list[dict[str, object]] = []
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory() as tmp, \
                service_process(url, Path(tmp)) as (base, _):
            for clients in (8, 32):
                wps, lat, errors = await closed_loop(port_of(base), clients, seconds,
                                                     ("PATCH", "/v1/settings/bots/bench", "counter"))
                tps = await asyncio.to_thread(pgbench_tps, url, clients, seconds)
                rows.append({"figure": f"single-key PATCH over HTTP, {clients} clients", "value": wps,
                             "unit": "changes/s", "baseline": tps,
                             "baseline_name": f"pgbench, per-change SQL, {clients} clients", "ratio": wps / tps,
                             "target": "≥ 1.0× baseline", "ok": wps / tps >= 1.0 and not errors, "errors": errors})
                rows.append({"figure": f"PATCH p99, {clients} clients", "value": percentile(lat, 99) * 1e3,
                             "unit": "ms", "ok": None})
        big = await big_change(url)
        raw = await raw_big_change(url)
        rows.append({"figure": "one 10,000-key change (service layer)", "value": big, "unit": "s",
                     "target": "≤ 1.5× baseline", "ok": big / raw <= 1.5, "baseline": raw,
                     "baseline_name": "same rows, plain asyncpg, one transaction", "ratio": big / raw})
    report("writes", rows)  # type: ignore[arg-type]
