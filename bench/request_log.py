"""What logging each request costs: the middleware alone, and a serving process's CPU per request.

Figures (each beside a baseline from the same run):
- µs the request-log middleware adds per request around a bare ASGI app, with the
  request line written (JSON to /dev/null) and below the level (only the id, its
  binding and the header) — baseline: the bare app;
- a `serve` process's CPU per `GET /v1/bots/mira/effective` with request lines at
  `info` (written) — baseline: the same build at `warning` (request lines not written).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from app.http.request_log import RequestLog
from app.logging import configure_logging
from bench.api import closed_loop
from bench.common import fresh_database, report
from bench.load import port_of
from bench.process import service_process

REQUESTS = 20_000
READ = ("GET", "/v1/bots/mira/effective", None)


async def _bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _per_request_us(app: Any) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_: Any) -> None:
        return None

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            scope = {"type": "http", "method": "GET", "path": "/v1/bots/mira/effective", "state": {},
                     "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1)}
            await app(scope, receive, send)
        best = min(best, (time.perf_counter() - started) / REQUESTS * 1e6)
    return best


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _serve_cpu_us(url: str, data_dir: str, level: str, seconds: float) -> float:
    env = {"BOTSETTINGS_LOG_LEVEL": level, "BOTSETTINGS_LOG_FORMAT": "json", "BOTSETTINGS_SCHEDULER": "off"}
    with service_process(url, Path(data_dir), env=env) as (base, proc):
        port = port_of(base)
        await closed_loop(port, 16, 1, READ)  # warm up
        before, started = _cpu_seconds(proc.pid), time.monotonic()
        rps, _, errors = await closed_loop(port, 16, seconds, READ)
        assert errors == 0, f"{errors} failed requests"
        return (_cpu_seconds(proc.pid) - before) / (rps * (time.monotonic() - started)) * 1e6


def _devnull() -> TextIO:
    return open(os.devnull, "w")  # closed by the caller


async def main() -> None:
    numbers = [float(a) for a in sys.argv[2:] if a.replace(".", "").isdigit()]
    seconds = numbers[0] if numbers else 5.0
    rows: list[dict[str, Any]] = []
    devnull = _devnull()
    for level, what in (("info", "written"), ("warning", "below the level")):
        configure_logging("json", level, devnull)
        bare, wrapped = await _per_request_us(_bare), await _per_request_us(RequestLog(_bare))
        rows.append({"figure": f"request-log middleware, line {what}", "value": wrapped - bare, "unit": "µs",
                     "baseline": bare, "baseline_name": "bare ASGI app", "ratio": wrapped / bare})
    devnull.close()
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory() as tmp:
            cpu: dict[str, list[float]] = {"info": [], "warning": []}
            for _ in range(3):  # interleaved, so a busy moment hits both alike
                for level in cpu:
                    cpu[level].append(await _serve_cpu_us(url, tmp, level, seconds))
    info, warning = sorted(cpu["info"])[1], sorted(cpu["warning"])[1]
    rows.append({"figure": "serve CPU per GET effective, request lines written (median of 3)", "value": info,
                 "unit": "µs", "baseline": warning, "baseline_name": "same build, request lines below the level",
                 "ratio": info / warning, "runs": cpu})
    report("request_log", rows)


if __name__ == "__main__":
    asyncio.run(main())
