"""History figures (issue 4) on a generated log: 1,000 bots × 30 keys, N events.

- point-in-time read of one bot scope (vs. reading the same scope now)
- a history page of 50 filtered by bot + key + time range (vs. the unfiltered newest page)
- rollback dry-run of all scopes to a point 500,000 revisions back (half the log if
  smaller), vs. reading the whole state at that point
- rebuild of the projection, events per second
and how each grows from 10k to 100k to 1M events.

The loader COPYs events and changes (the only trigger on the log refuses UPDATE and
DELETE, not INSERT), takes a snapshot through HistoryService.snapshot_if_due after
every BOTSETTINGS_SNAPSHOT_EVERY events as a live service would, sets the head, and
builds settings_current with the rebuild being measured; verify must then pass.

Run: uv run python -m bench.history [SIZE ...]   (default 10000 100000 1000000;
through `python -m bench history`, sizes come from BENCH_HISTORY_SIZES=10000,100000)
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from app.domain import scopes
from app.domain.audit import EventFilter
from app.domain.history import Point
from app.domain.registry import Kind, SettingDef, keys_for
from app.domain.scopes import ScopeType
from app.logging import configure_logging
from app.services import HistoryService, settings_with_history
from app.services.snapshots import DEFAULT_SNAPSHOT_EVERY
from app.store.database import Database
from app.store.engine import asyncpg_dsn
from bench.common import fresh_database, report, summary

BOTS = 1000
KEYS: list[SettingDef] = [d for d in keys_for(ScopeType.BOT)
                          if d.kind in (Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.ENUM) or d.key.endswith("_model")][:30]
ACTORS = [f"operator{i}" for i in range(20)]
SAMPLES = 50
EVENT_COLUMNS = ["revision", "change_id", "scope_type", "scope_id", "key", "op", "value", "previous",
                 "had_previous", "key_version", "actor", "reason", "source", "recorded_at"]
CHANGE_COLUMNS = ["id", "first_revision", "last_revision", "event_count", "actor", "reason", "source",
                  "recorded_at"]


def value_for(defn: SettingDef, rng: random.Random) -> Any:
    if defn.kind is Kind.BOOL:
        return rng.random() < 0.5
    if defn.kind is Kind.ENUM:
        return rng.choice(defn.choices)
    if defn.kind is Kind.STR:
        return f"model-{rng.randrange(20)}"
    lo = defn.minimum or 0
    hi = defn.maximum if defn.maximum is not None else lo + 10_000
    if defn.kind is Kind.INT:
        return rng.randint(int(lo), int(min(hi, lo + 10_000)))
    return round(rng.uniform(lo + (0.01 if defn.exclusive_minimum else 0), hi), 3)


def generate(size: int, rng: random.Random, start: datetime) -> tuple[list[tuple], list[tuple]]:
    """Changes of 1-4 keys of one bot; ~5% deletes; each event consistent with the last."""
    state: dict[tuple[int, int], tuple[bool, Any, int]] = {}  # (bot, key) → present, value, version
    events: list[tuple] = []
    changes: list[tuple] = []
    revision = 0
    step = timedelta(milliseconds=50)
    while revision < size:
        bot = rng.randrange(BOTS)
        change_id, actor = uuid.uuid4(), rng.choice(ACTORS)
        at = start + step * len(changes)
        first = revision + 1
        for k in rng.sample(range(len(KEYS)), min(rng.randint(1, 4), size - revision)):
            present, old, version = state.get((bot, k), (False, None, 0))
            delete = present and rng.random() < 0.05
            value = None if delete else value_for(KEYS[k], rng)
            revision += 1
            events.append((revision, change_id, "bot", f"bot{bot:04d}", KEYS[k].key, "delete" if delete else "set",
                           None if delete else msgspec.json.encode(value).decode(),
                           msgspec.json.encode(old).decode() if present else None, present, version + 1,
                           actor, "bench load", "api", at))
            state[(bot, k)] = (not delete, value, version + 1)
        changes.append((change_id, first, revision, revision - first + 1, actor, "bench load", "api", at))
    return events, changes


async def load(url: str, size: int, history: HistoryService) -> dict[str, float]:
    rng = random.Random(size)
    t0 = time.perf_counter()
    start = datetime.now(UTC) - timedelta(hours=1) - timedelta(milliseconds=50) * size
    events, changes = generate(size, rng, start)
    generated = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    snapshot_seconds = 0.0
    try:
        every = history.snapshot_every
        c = 0
        for lo in range(0, size, every):
            chunk = events[lo:lo + every]
            upto = chunk[-1][0]
            async with conn.transaction():
                await conn.copy_records_to_table("settings_events", records=chunk, columns=EVENT_COLUMNS)
                done = c
                while c < len(changes) and changes[c][2] <= upto:
                    c += 1
                await conn.copy_records_to_table("settings_changes", records=changes[done:c], columns=CHANGE_COLUMNS)
                await conn.execute("UPDATE settings_head SET revision = $1 WHERE id = 1", upto)
            s = time.perf_counter()
            await history.snapshot_if_due()
            snapshot_seconds += time.perf_counter() - s
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return {"generate_s": generated - t0, "load_s": time.perf_counter() - generated - snapshot_seconds,
            "snapshots_s": snapshot_seconds}


async def timed(fn: Any, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


async def measure(size: int) -> dict[str, Any]:
    async with fresh_database() as url:
        db = Database(url)
        service, history = settings_with_history(db, snapshot_every=int(os.environ.get(
            "BOTSETTINGS_SNAPSHOT_EVERY", DEFAULT_SNAPSHOT_EVERY)))
        try:
            loaded = await load(url, size, history)
            t0 = time.perf_counter()
            keys = await service.rebuild()
            rebuild_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            verify = await service.verify()
            verify_s = time.perf_counter() - t0
            assert verify.ok, verify
            head = await service.head()
            rng = random.Random(1)

            def bot() -> scopes.Scope:
                return scopes.bot(f"bot{rng.randrange(BOTS):04d}")

            pit = await timed(lambda: history.state_at(Point(revision=rng.randint(1, head)), bot()), SAMPLES)
            now = await timed(lambda: service.scope_view(bot()), SAMPLES)
            first = (await history.history(EventFilter(), 1, "2")).events[0].recorded_at
            last = (await history.history(EventFilter(), 1)).events[0].recorded_at

            def window() -> EventFilter:
                a, b = sorted(first + (last - first) * rng.random() for _ in range(2))
                return EventFilter(scope=bot(), key=rng.choice(KEYS).key, since=a, until=b)

            page = await timed(lambda: history.history(window(), 50), SAMPLES)
            newest = await timed(lambda: history.history(EventFilter(), 50), SAMPLES)
            as_of = await timed(lambda: history.state_at(Point(time=first + (last - first) * rng.random()), bot()),
                                SAMPLES)
            back = head - min(500_000, head // 2)
            rollback = await timed(lambda: history.rollback(Point(revision=back), dry_run=True, actor="bench"), 5)
            whole = await timed(lambda: history.state_at(Point(revision=back)), 5)
            diff_size = len((await history.rollback(Point(revision=back), dry_run=True, actor="bench")).diff)
        finally:
            await db.dispose()
    return {"size": size, "keys": keys, "rebuild_s": rebuild_s, "rebuild_eps": size / rebuild_s,
            "verify_s": verify_s, **loaded, "back": back, "diff_size": diff_size,
            "pit": summary(pit), "now": summary(now), "page": summary(page), "newest": summary(newest),
            "as_of": summary(as_of), "rollback": summary(rollback), "whole": summary(whole)}


def rows_for(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    base = runs[0]
    for r in runs:
        n = f"{r['size']:,} events"

        def growth(k: str, r: dict[str, Any] = r) -> float | None:
            return None if r is base else r[k]["p50"] / base[k]["p50"]
        rows += [
            {"figure": f"{n}: point-in-time read of one bot scope (p50)", "value": r["pit"]["p50"], "unit": "ms",
             "target": "≤ 20 ms", "ok": r["pit"]["p50"] <= 20, "baseline": r["now"]["p50"],
             "baseline_name": "same scope now", "ratio": r["pit"]["p50"] / r["now"]["p50"],
             "p99": r["pit"]["p99"], "growth_vs_smallest": growth("pit")},
            {"figure": f"{n}: same, by timestamp (p50)", "value": r["as_of"]["p50"], "unit": "ms",
             "target": "≤ 20 ms", "ok": r["as_of"]["p50"] <= 20, "growth_vs_smallest": growth("as_of")},
            {"figure": f"{n}: history page of 50, bot+key+time range (p50)", "value": r["page"]["p50"], "unit": "ms",
             "target": "≤ 10 ms", "ok": r["page"]["p50"] <= 10, "baseline": r["newest"]["p50"],
             "baseline_name": "newest 50, unfiltered", "ratio": r["page"]["p50"] / r["newest"]["p50"],
             "p99": r["page"]["p99"], "growth_vs_smallest": growth("page")},
            {"figure": f"{n}: rollback dry-run, all scopes, {r['size'] - r['back']:,} revisions back (p50)",
             "value": r["rollback"]["p50"], "unit": "ms", "target": "≤ 1000 ms", "ok": r["rollback"]["p50"] <= 1000,
             "baseline": r["whole"]["p50"], "baseline_name": "whole state at that point",
             "ratio": r["rollback"]["p50"] / r["whole"]["p50"], "diff_keys": r["diff_size"],
             "growth_vs_smallest": growth("rollback")},
            {"figure": f"{n}: rebuild of the projection", "value": r["rebuild_eps"], "unit": "events/s",
             "target": "≥ 100,000 events/s", "ok": r["rebuild_eps"] >= 100_000, "seconds": r["rebuild_s"],
             "keys": r["keys"]},
        ]
    return rows


async def main(sizes: list[int] | None = None) -> None:
    configure_logging("json", "warning")
    if sizes is None:
        sizes = [int(s) for s in os.environ.get("BENCH_HISTORY_SIZES", "10000,100000,1000000").split(",")]
    runs = []
    for size in sizes:
        t0 = time.perf_counter()
        runs.append(await measure(size))
        print(f"{size:,} events: generate {runs[-1]['generate_s']:.1f} s, COPY {runs[-1]['load_s']:.1f} s, "
              f"snapshots {runs[-1]['snapshots_s']:.1f} s, verify {runs[-1]['verify_s']:.1f} s, "
              f"total {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    report("history", rows_for(runs), {"runs": runs, "snapshot_every": int(os.environ.get(
        "BOTSETTINGS_SNAPSHOT_EVERY", DEFAULT_SNAPSHOT_EVERY))})


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or None))
