"""Fan-out: many botsettings-client followers of one service process (issue 20).

- commit → visible: a PUT of mira's temperature until each follower's change callback
  has it, p50/p99 over every (follower, change), and the time until *every* follower
  has it (per change); next to the same run's raw NOTIFY round trip (PUT → NOTIFY
  heard on a plain LISTEN connection) and a single follower;
- the service's memory per idle follower (RSS with N connected, less RSS before);
- the service's CPU per idle follower (heartbeats), next to its idle CPU alone, and
  its CPU per change fanned out to N, next to one follower.

Followers run in a few processes, twice: as raw sockets reading /v1/watch (what the
service delivers, the figure the target is about) and as real clients
(AsyncSettingsClient: bootstrap, parse, apply, callback — on two shared cores a
thousand of them mostly measure their own CPU). Changes are spaced out so each is
measured from an idle state; the commit is when a plain LISTEN connection hears the
NOTIFY (PostgreSQL delivers it at commit).

Run: uv run python -m bench fanout [FOLLOWERS] [CHANGES]   (defaults 1000 and 50)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.store.engine import asyncpg_dsn
from app.store.schema import NOTIFY_CHANNEL
from bench.api import rss_mb
from bench.common import fresh_database, percentile, report
from bench.process import service_process

PROCESSES = 4
IDLE_SECONDS = 20.0  # longer than the 15 s heartbeat, so idle CPU includes one round of them
SPACING_SECONDS = 0.25
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


class Followers:
    """Follower processes: each starts ``count`` clients, says "ready", and on a line
    on stdin prints {revision: [monotonic time seen, ...]} and exits."""

    def __init__(self, url: str, total: int, processes: int, raw: bool = False) -> None:
        share = [total // processes + (i < total % processes) for i in range(processes)]
        mode = ["raw"] if raw else []
        self.procs = [subprocess.Popen([sys.executable, "-m", "bench.fanout", url, str(n), *mode],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                      for n in share if n]

    async def ready(self) -> None:
        for proc in self.procs:
            line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
            if line.strip() != "ready":
                raise RuntimeError(f"a follower process failed to start: {line!r}")

    async def seen(self) -> dict[int, list[float]]:
        merged: dict[int, list[float]] = {}
        for proc in self.procs:
            proc.stdin.write("dump\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        for proc in self.procs:
            line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
            for revision, times in json.loads(line).items():
                merged.setdefault(int(revision), []).extend(times)
            proc.wait(30)
        return merged


_ID = re.compile(rb"(?:^|\n)id: (\d+)\n")


class RawFollower(asyncio.Protocol):
    """/v1/watch read straight off the socket: what the service delivers, without any
    client library's cost (a thousand real clients in four processes on two cores
    measure mostly themselves)."""

    def __init__(self, seen: dict[int, list[float]]) -> None:
        self.seen = seen

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        for match in _ID.finditer(data):
            self.seen.setdefault(int(match.group(1)), []).append(now)


async def raw_followers(url: str, count: int, seen: dict[int, list[float]]) -> list[asyncio.BaseTransport]:
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    transports = []
    for _ in range(count):
        transport, _ = await loop.create_connection(lambda: RawFollower(seen), host, int(port))
        transport.write(f"GET /v1/watch HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        transports.append(transport)
    return transports


async def follower(url: str, count: int, raw: bool = False) -> None:
    from botsettings_client import AsyncSettingsClient, Change

    seen: dict[int, list[float]] = {}
    if raw:
        transports = await raw_followers(url, count, seen)
        await asyncio.sleep(1.0)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        print(json.dumps(seen), flush=True)
        del transports
        os._exit(0)

    def record(change: Change) -> None:
        if change.key == "temperature":
            seen.setdefault(change.revision, []).append(time.monotonic())

    gate = asyncio.Semaphore(8)  # bootstraps: a few at a time, as a fleet's processes start

    async def one() -> AsyncSettingsClient:
        async with gate:
            client = AsyncSettingsClient(url, bots=["mira"])
            await client.start()
        client.on_change(record)
        return client

    clients = await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(1.0)  # let every stream connect
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    print(json.dumps(seen), flush=True)
    del clients
    os._exit(0)  # a thousand graceful closes would only slow the bench down


async def changes(url: str, db_url: str, count: int) -> tuple[dict[int, float], dict[int, float]]:
    """``count`` PUTs, spaced out; (revision → sent at, revision → committed: NOTIFY heard at)."""
    heard: dict[int, float] = {}
    listener = await asyncpg.connect(asyncpg_dsn(db_url))
    await listener.add_listener(NOTIFY_CHANNEL, lambda *a: heard.__setitem__(json.loads(a[3])["last"],
                                                                              time.monotonic()))
    sent: dict[int, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        for i in range(count):
            started = time.monotonic()
            r = await http.put("/v1/settings/bots/mira/temperature", json={"value": round(0.01 + i % 90 / 100, 2)})
            r.raise_for_status()
            sent[r.json()["head"]] = started
            await asyncio.sleep(SPACING_SECONDS)
    await listener.close()
    return sent, heard


async def phase(url: str, db_url: str, pid: int, total: int, count: int, raw: bool = False) -> dict[str, Any]:
    rss_before = rss_mb(pid)
    followers = Followers(url, total, min(PROCESSES, total), raw)
    await followers.ready()
    await changes(url, db_url, 1)  # warm-up: every follower has connected and applied one change
    await asyncio.sleep(1.0)
    cpu0 = cpu_seconds(pid)
    await asyncio.sleep(IDLE_SECONDS)
    idle_cpu = cpu_seconds(pid) - cpu0
    rss_after = rss_mb(pid)
    cpu0, theirs = cpu_seconds(pid), sum(cpu_seconds(p.pid) for p in followers.procs)
    sent, heard = await changes(url, db_url, count)
    await asyncio.sleep(1.0)
    change_cpu = cpu_seconds(pid) - cpu0 - idle_cpu / IDLE_SECONDS * (count * SPACING_SECONDS + 1.0)
    theirs = sum(cpu_seconds(p.pid) for p in followers.procs) - theirs
    seen = await followers.seen()
    # The commit is when PostgreSQL delivers the NOTIFY (at commit, to every listener):
    # measured from there, the figure is the fan-out's, not the write's.
    committed = {rev: heard[rev] for rev in sent if rev in heard}
    return {"each": [(t - committed[rev]) * 1000 for rev in committed for t in seen.get(rev, [])],
            "every": [(max(seen[rev]) - committed[rev]) * 1000 for rev in committed
                      if len(seen.get(rev, [])) == total],
            "missing": sum(total - len(seen.get(rev, [])) for rev in sent),
            "write": [(heard[rev] - sent[rev]) * 1000 for rev in committed], "idle_cpu": idle_cpu,
            "change_cpu": max(change_cpu, 0.0) / count, "rss_kb": (rss_after - rss_before) * 1024,
            "follower_cpu_us": theirs / count / total * 1e6}


async def main() -> None:
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    total = numbers[0] if numbers else 1000
    count = numbers[1] if len(numbers) > 1 else 50
    async with fresh_database() as db_url:
        with service_process(db_url, Path(os.environ.get("TMPDIR", "/tmp"))) as (url, proc):
            cpu0 = cpu_seconds(proc.pid)
            await asyncio.sleep(IDLE_SECONDS)
            alone = cpu_seconds(proc.pid) - cpu0  # the service idle, nobody following
            one = await phase(url, db_url, proc.pid, 1, count)
            raw = await phase(url, db_url, proc.pid, total, count, raw=True)
            real = await phase(url, db_url, proc.pid, total, count)
    p = percentile
    single = one["each"]
    rows = [
        {"figure": f"commit → delivered, each of {total} followers (raw sockets), p50", "value": p(raw["each"], 50),
         "unit": "ms", "baseline": p(single, 50), "baseline_name": "one client follower, p50",
         "ratio": p(raw["each"], 50) / p(single, 50)},
        {"figure": f"commit → delivered, each of {total} followers (raw sockets), p99", "value": p(raw["each"], 99),
         "unit": "ms", "target": "≤ 50 ms", "ok": p(raw["each"], 99) <= 50, "baseline": p(single, 99),
         "baseline_name": "one client follower, p99", "ratio": p(raw["each"], 99) / p(single, 99)},
        {"figure": f"commit → delivered to all {total} (the last one), p99", "value": p(raw["every"], 99),
         "unit": "ms", "baseline": p(single, 99), "baseline_name": "one client follower, p99",
         "ratio": p(raw["every"], 99) / p(single, 99)},
        {"figure": f"commit → visible, each of {total} botsettings-client followers, p50", "value": p(real["each"], 50),
         "unit": "ms", "baseline": p(single, 50), "baseline_name": "one client follower, p50",
         "ratio": p(real["each"], 50) / p(single, 50)},
        {"figure": f"commit → visible, each of {total} botsettings-client followers, p99", "value": p(real["each"], 99),
         "unit": "ms", "target": "≤ 50 ms", "ok": p(real["each"], 99) <= 50, "baseline": p(single, 99),
         "baseline_name": "one client follower, p99", "ratio": p(real["each"], 99) / p(single, 99)},
        {"figure": "client CPU per follower per change (in the follower processes)", "value": real["follower_cpu_us"],
         "unit": "µs", "baseline": raw["follower_cpu_us"], "baseline_name": "a raw-socket follower",
         "ratio": real["follower_cpu_us"] / raw["follower_cpu_us"] if raw["follower_cpu_us"] else None},
        {"figure": "PUT sent → committed (NOTIFY heard), p50: the write itself, in no figure above",
         "value": p(raw["write"], 50), "unit": "ms"},
        {"figure": "changes lost (follower × change not seen), both runs of N",
         "value": raw["missing"] + real["missing"], "unit": "", "target": "0",
         "ok": raw["missing"] + real["missing"] == 0},
        {"figure": "service memory per idle follower", "value": raw["rss_kb"] / total, "unit": "KB",
         "target": "≤ 50 KB", "ok": raw["rss_kb"] / total <= 50},
        {"figure": "service CPU per idle follower", "value": (raw["idle_cpu"] - alone) / total / IDLE_SECONDS * 1e6,
         "unit": "µs/s", "baseline": alone / IDLE_SECONDS * 1e6, "baseline_name": "the service idle, alone",
         "ratio": (raw["idle_cpu"] - alone) / total / alone if alone else None},
        {"figure": f"service CPU per change fanned out to {total}", "value": raw["change_cpu"] * 1000, "unit": "ms",
         "baseline": one["change_cpu"] * 1000, "baseline_name": "to one follower",
         "ratio": raw["change_cpu"] / one["change_cpu"] if one["change_cpu"] else None},
    ]
    report("fanout", rows, {"followers": total, "changes": count, "processes": PROCESSES})


if __name__ == "__main__":
    asyncio.run(follower(sys.argv[1], int(sys.argv[2]), raw=sys.argv[3:] == ["raw"]))
