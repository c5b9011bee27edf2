"""Mixed read/write load on a real `botsettings serve` process, then proof that no
acknowledged write was lost: uv run python -m bench load [SECONDS] [CLIENTS].

Also used, shorter, by tests/system/test_load.py. The client is a minimal HTTP/1.1
keep-alive client on asyncio streams: a general-purpose client would spend more
CPU than the server on a 2-core machine and measure itself.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

BOTS = [f"load{n:02d}" for n in range(8)]


class Conn:
    """One keep-alive connection; just enough HTTP/1.1 for our own JSON responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        payload = msgspec.json.encode(body) if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(payload)}",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        if body is not None:
            lines.append("Content-Type: application/json")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


class LoadResult(msgspec.Struct, kw_only=True):
    seconds: float
    reads: list[float]  # latencies, seconds
    writes: list[float]
    errors: list[str]
    acknowledged: list[tuple[str, str, int]]  # (bot, value, revision)


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


async def mixed_load(port: int, *, clients: int, seconds: float, write_share: float = 0.1,
                     seed: int = 7) -> LoadResult:
    """``clients`` connections, each looping reads of a bot's effective settings and,
    with probability ``write_share``, a write of a unique system prompt."""
    result = LoadResult(seconds=seconds, reads=[], writes=[], errors=[], acknowledged=[])
    setup = await Conn.open(port)
    for bot in BOTS:  # every bot exists before the first read
        status, body = await setup.request("PATCH", f"/v1/settings/bots/{bot}", {"system_prompt": "initial"})
        if status == 200:
            result.acknowledged.append((bot, "initial", msgspec.json.decode(body)["first_revision"]))
    setup.close()
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        rng = random.Random(seed + n)
        conn = await Conn.open(port)
        i = 0
        try:
            while time.monotonic() < deadline:
                bot = rng.choice(BOTS)
                started = time.perf_counter()
                if rng.random() < write_share:
                    i += 1
                    value = f"prompt c{n} w{i}"
                    status, body = await conn.request("PATCH", f"/v1/settings/bots/{bot}",
                                                      {"system_prompt": value})
                    result.writes.append(time.perf_counter() - started)
                    if status == 200:
                        result.acknowledged.append((bot, value, msgspec.json.decode(body)["first_revision"]))
                    else:
                        result.errors.append(f"PATCH {status}: {body[:200]!r}")
                else:
                    status, body = await conn.request("GET", f"/v1/bots/{bot}/effective")
                    result.reads.append(time.perf_counter() - started)
                    if status != 200:
                        result.errors.append(f"GET {status}: {body[:200]!r}")
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return result


async def lost_updates(db_url: str, result: LoadResult) -> list[str]:
    """Every acknowledged write must be in the log where it was acknowledged, each bot's
    stored prompt must be its last acknowledged one, and the projection must verify."""
    from app.domain import scopes
    from app.services import SettingsService
    from app.store.database import Database

    db = Database(db_url)
    service = SettingsService(db)
    problems: list[str] = []
    try:
        async with db.read() as conn:
            from app.store.reader import events_between, head

            events = {e.revision: e for e in await events_between(conn, 0, await head(conn))}
        for bot, value, revision in result.acknowledged:
            event = events.get(revision)
            if event is None or event.scope != scopes.bot(bot) or event.value != value:
                problems.append(f"acknowledged write {bot}={value!r} at {revision} is not in the log")
        last: dict[str, tuple[int, str]] = {}
        for bot, value, revision in result.acknowledged:
            last[bot] = max(last.get(bot, (0, "")), (revision, value))
        for bot, (_, value) in last.items():
            stored = (await service.scope_view(scopes.bot(bot))).values
            if [v.value for v in stored if v.key == "system_prompt"] != [value]:
                problems.append(f"{bot}: the stored prompt is not the last acknowledged one")
        report = await service.verify()
        if not report.ok:
            problems.append(f"the projection does not equal a replay: {report.drift[:3]}")
    finally:
        await db.dispose()
    return problems


async def main(seconds: float = 60, clients: int = 32) -> None:
    import tempfile

    from bench.common import fresh_database, percentile, report
    from bench.process import service_process

    args = [a for a in sys.argv[2:] if a.replace(".", "").isdigit()]
    seconds = float(args[0]) if args else seconds
    clients = int(args[1]) if len(args) > 1 else clients
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory() as tmp, service_process(url, Path(tmp)) as (base_url, _):
            result = await mixed_load(port_of(base_url), clients=clients, seconds=seconds)
        problems = await lost_updates(url, result)
    total = len(result.reads) + len(result.writes)
    rows = [
        {"figure": f"mixed load, {clients} clients, {seconds:.0f} s, 90% reads", "value": total / seconds,
         "unit": "req/s", "ok": None},
        {"figure": "read p99 under load", "value": percentile(result.reads, 99) * 1000, "unit": "ms", "ok": None},
        {"figure": "write p99 under load", "value": percentile(result.writes, 99) * 1000, "unit": "ms",
         "target": "≤ 50 ms", "ok": percentile(result.writes, 99) * 1000 <= 50,
         "baseline": percentile(result.reads, 99) * 1000, "baseline_name": "read p99, same load",
         "ratio": percentile(result.writes, 99) / percentile(result.reads, 99)},
        {"figure": "errors", "value": len(result.errors), "unit": "", "target": "0", "ok": not result.errors},
        {"figure": "lost updates", "value": len(problems), "unit": "", "target": "0", "ok": not problems},
    ]
    report("load", rows, {"acknowledged_writes": len(result.acknowledged), "problems": problems[:20],
                          "errors": result.errors[:20]})
