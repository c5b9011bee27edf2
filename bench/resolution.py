"""Resolver and propagation figures (issue 3).

- warm snapshot of one bot (all keys with provenance) and one key, vs. a cold build
- propagation: a change committed in process A (clock read as COMMIT returns) →
  applied by process B's resolver, next to the raw NOTIFY round trip measured in
  the same run
- memory of 1,000 bots' snapshots in the cache

Run: uv run python -m bench.resolution
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import asyncpg

from app.domain import scopes
from app.domain.bots_yaml import load_bots
from app.domain.events import ChangeRequest, normalize_request, set_op
from app.domain.read_model import Resolver
from app.domain.resolution import LayerValues, build_snapshot
from app.logging import configure_logging
from app.store import writer
from app.store.engine import asyncpg_dsn
from bench.common import fresh_database, report, summary

ROOT = Path(__file__).resolve().parents[1]
CHANGES = 200

# Process B: follows changes and prints "<revision> <monotonic_ns>" as each is applied.
FOLLOWER = """
import asyncio, sys, time
from app.config import Config
from app.logging import configure_logging
from app.runtime import Runtime
configure_logging("json", "warning")
async def main():
    rt = await Runtime.start(Config(database_url=sys.argv[1], migrate_on_start=False), listen=True)
    rt.resolver.subscribe(lambda c: print(c.last_revision, time.monotonic_ns(), flush=True))
    print("ready", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def time_calls(fn, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return samples


def resolver_figures() -> list[dict]:
    bots = load_bots([("bots.yaml", (ROOT / "bots.yaml").read_text())])
    resolver = Resolver(bots, {"temperature": 0.7})
    resolver.load(1, {scopes.GLOBAL: {"top_p": 0.9}, scopes.bot("mira"): {"temperature": 0.5}})
    resolver.snapshot("mira")
    warm = time_calls(lambda: resolver.snapshot("mira"), 20000)
    key = time_calls(lambda: resolver.snapshot("mira").values["temperature"], 20000)
    layers = LayerValues(bot={"temperature": 0.5}, global_={"top_p": 0.9}, yaml=bots.layer_for("mira"), env={})
    cold = time_calls(lambda: build_snapshot("mira", 1, layers), 5000)
    with_override = time_calls(lambda: resolver.snapshot("mira", {"temperature": 0.2}), 5000)
    w, k, c, o = summary(warm), summary(key), summary(cold), summary(with_override)
    return [
        {"figure": "warm snapshot of one bot (median)", "value": w["p50"], "unit": "µs", "target": "≤ 20 µs",
         "ok": w["p50"] <= 20, "baseline": c["p50"], "baseline_name": "cold build, no cache",
         "ratio": w["p50"] / c["p50"]},
        {"figure": "one key (median)", "value": k["p50"], "unit": "µs", "target": "≤ 2 µs", "ok": k["p50"] <= 2,
         "baseline": c["p50"], "baseline_name": "cold build, no cache", "ratio": k["p50"] / c["p50"]},
        {"figure": "snapshot with one request override (median)", "value": o["p50"], "unit": "µs",
         "baseline": c["p50"], "baseline_name": "cold build, no cache", "ratio": o["p50"] / c["p50"]},
    ]


def memory_figure() -> dict:
    bots = load_bots([("bots.yaml", (ROOT / "bots.yaml").read_text())])
    state = {scopes.bot(f"bot{i:04d}"): {"temperature": 0.5, "history_tokens": 1000 + i,
                                         "system_prompt": f"You are bot {i}. " * 20} for i in range(1000)}
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    resolver = Resolver(bots, {})
    resolver.load(1, state)
    for slug in resolver.known_bots():
        resolver.snapshot(slug)
    gc.collect()
    used = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    mb = used / 1e6
    return {"figure": "1,000 bots × all keys cached", "value": mb, "unit": "MB", "target": "≤ 30 MB", "ok": mb <= 30}


async def notify_round_trip(dsn: str) -> list[float]:
    sender, receiver = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    got: asyncio.Queue[int] = asyncio.Queue()
    await receiver.add_listener("bench_rt", lambda *_: got.put_nowait(time.perf_counter_ns()))
    samples = []
    for i in range(CHANGES):
        t0 = time.perf_counter_ns()
        await sender.execute(f"NOTIFY bench_rt, '{i}'")
        samples.append((await got.get() - t0) / 1e6)
    await sender.close()
    await receiver.close()
    return samples


async def propagation(url: str) -> tuple[list[float], list[float]]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", FOLLOWER, url, stdout=subprocess.PIPE,
                                                cwd=ROOT, env={**os.environ, "BOTSETTINGS_LOG_LEVEL": "warning"})
    assert proc.stdout is not None
    try:
        assert (await proc.stdout.readline()).decode().strip() == "ready"
        conn = await asyncpg.connect(asyncpg_dsn(url))
        await writer.prepare_connection(conn)
        applied: dict[int, int] = {}
        committed: dict[int, int] = {}
        for i in range(CHANGES):
            # The batch transaction itself (as the group commit runs it, on a plain asyncpg
            # connection), not the service, and the clock read as soon as COMMIT returns:
            # from then on the change is durable and the rest is propagation. (Read before
            # COMMIT is sent, the figure would also hold the commit's WAL flush, which a
            # bare NOTIFY does not have.)
            request = ChangeRequest(ops=[set_op(scopes.bot("mira"), "temperature", 0.5 if i % 2 else 0.6)],
                                    actor="bench")
            outer = conn.transaction()
            await outer.start()
            batch = await writer.commit_batch_on(conn, [(request, normalize_request(request)[0])])
            await outer.commit()
            committed[batch.last] = time.monotonic_ns()
            assert batch.events
            await asyncio.sleep(0.005)
        while len(applied) < len(committed):
            revision, at = map(int, (await proc.stdout.readline()).split())
            applied[revision] = at
        await conn.close()
        latencies = [(applied[r] - committed[r]) / 1e6 for r in committed]
        return latencies, await notify_round_trip(asyncpg_dsn(url))
    finally:
        proc.terminate()
        await proc.wait()


async def main() -> None:
    configure_logging("json", "warning")
    rows = resolver_figures()
    rows.append(memory_figure())
    async with fresh_database() as url:
        latencies, raw = await propagation(url)
    p, r = summary(latencies), summary(raw)
    rows += [
        {"figure": f"propagation A → B p50 ({CHANGES} changes)", "value": p["p50"], "unit": "ms", "target": "≤ 5 ms",
         "ok": p["p50"] <= 5, "baseline": r["p50"], "baseline_name": "raw NOTIFY round trip p50",
         "ratio": p["p50"] / r["p50"]},
        {"figure": "propagation A → B p99", "value": p["p99"], "unit": "ms", "target": "≤ 5× baseline",
         "ok": p["p99"] <= 5 * r["p99"], "baseline": r["p99"], "baseline_name": "raw NOTIFY round trip p99",
         "ratio": p["p99"] / r["p99"]},
    ]
    report("resolution", rows)


if __name__ == "__main__":
    asyncio.run(main())
