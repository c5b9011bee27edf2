"""Scheduler figures (issue 6).

- reschedule latency: an interval change committed by process A → the job's next run
  moved in the leader B, next to B merely applying the change (same run, same changes)
- reconcile cost with 1,000 bots after a global interval change, next to rebuilding
  the 1,000 snapshots alone
- lateness of scheduled changes: created in the leader, and in another process

A and B are two runtimes in one process, each with its own connections and listener.
Run: uv run python -m bench.scheduler
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from app.config import Config
from app.domain import scopes
from app.domain.events import AppliedChange, ChangeRequest, normalize_request, set_op
from app.logging import configure_logging
from app.runtime import Runtime
from app.services.job_handlers import JobContext
from app.store import writer
from bench.common import fresh_database, report, summary

CHANGES = 100
BOTS = 1000
SCHEDULED = 20
KEY = "history_summarization_interval_minutes"
SEEN = asyncio.Event()


async def _seen(moved: dict[int, int], revision: int) -> None:
    while revision not in moved:
        await SEEN.wait()
        SEEN.clear()


async def _nothing(_: JobContext) -> None:
    return None


async def main() -> None:
    configure_logging("json", "warning")
    async with fresh_database() as url:
        config = Config(database_url=url, migrate_on_start=False)
        a = await Runtime.start(config, listen=True)
        b = await Runtime.start(config, listen=True)
        b.handlers.register("history_summarization", _nothing)
        applied: dict[int, int] = {}
        moved: dict[int, int] = {}
        b.resolver.subscribe(lambda c: applied.__setitem__(c.last_revision, time.perf_counter_ns()))
        await b.start_scheduler()
        assert b.scheduler is not None

        def after_scheduler(change: AppliedChange) -> None:  # subscribers run in order: this one last
            moved[change.last_revision] = time.perf_counter_ns()
            SEEN.set()
        b.resolver.subscribe(after_scheduler)
        for _ in range(500):
            if b.scheduler.is_leader:
                break
            await asyncio.sleep(0.01)
        try:
            rows = await _reschedule(a, b, applied, moved)
            rows += await _reconcile(a, b, applied, moved)
            rows += await _lateness(a, b)
        finally:
            await a.close()
            await b.close()
    report("scheduler", rows)


async def _commit(a: Runtime, ops: list) -> tuple[int, int]:  # type: ignore[type-arg]
    request = ChangeRequest(ops=ops, actor="bench")
    result = await writer.apply_change(a.db, request, normalize_request(request)[0])
    assert result.last_revision is not None
    return result.last_revision, time.perf_counter_ns()


async def _reschedule(a: Runtime, b: Runtime, applied: dict[int, int], moved: dict[int, int]) -> list[dict]:  # type: ignore[type-arg]
    assert b.scheduler is not None
    latencies, propagation = [], []
    mira = "history_summarization:mira"
    await _commit(a, [set_op(scopes.bot("mira"), "temperature", 0.5)])  # mira exists
    await asyncio.sleep(0.2)
    for i in range(CHANGES):
        before = b.scheduler.next_run(mira)
        revision, committed = await _commit(a, [set_op(scopes.bot("mira"), KEY, 5 + i % 2)])
        await _seen(moved, revision)
        assert b.scheduler.next_run(mira) != before
        latencies.append((moved[revision] - committed) / 1e6)
        propagation.append((applied[revision] - committed) / 1e6)
    lat, prop = summary(latencies), summary(propagation)
    return [
        {"figure": f"reschedule after a commit elsewhere p50 ({CHANGES} changes)", "value": lat["p50"], "unit": "ms",
         "target": "≤ 1000 ms", "ok": lat["p50"] <= 1000, "baseline": prop["p50"],
         "baseline_name": "the change reaching B's resolver p50", "ratio": lat["p50"] / prop["p50"]},
        {"figure": "reschedule after a commit elsewhere p99", "value": lat["p99"], "unit": "ms",
         "target": "≤ 1000 ms", "ok": lat["p99"] <= 1000, "baseline": prop["p99"],
         "baseline_name": "the change reaching B's resolver p99", "ratio": lat["p99"] / prop["p99"]},
    ]


async def _reconcile(a: Runtime, b: Runtime, applied: dict[int, int], moved: dict[int, int]) -> list[dict]:  # type: ignore[type-arg]
    await _commit(a, [set_op(scopes.bot(f"bot{i:04d}"), "temperature", 0.5) for i in range(BOTS)])
    await asyncio.sleep(0.5)
    costs = []
    for i in range(10):
        revision, _ = await _commit(a, [set_op(scopes.GLOBAL, KEY, 40 + i % 2)])
        await _seen(moved, revision)
        costs.append((moved[revision] - applied[revision]) / 1e6)
    rebuild = []
    for _ in range(10):
        b.resolver._cache.clear()
        t0 = time.perf_counter_ns()
        for slug in b.resolver.known_bots():
            b.resolver.snapshot(slug)
        rebuild.append((time.perf_counter_ns() - t0) / 1e6)
    c, r = summary(costs), summary(rebuild)
    jobs = len(b.scheduler._intervals) if b.scheduler else 0
    return [{"figure": f"reconcile {jobs} jobs after a global interval change (median)", "value": c["p50"],
             "unit": "ms", "target": "≤ 1000 ms", "ok": c["p50"] <= 1000, "baseline": r["p50"],
             "baseline_name": f"rebuilding {BOTS + 3} bot snapshots alone", "ratio": c["p50"] / r["p50"]}]


async def _lateness(a: Runtime, b: Runtime) -> list[dict]:  # type: ignore[type-arg]
    rows = []
    for where, rt in (("the leader", b), ("another process", a)):
        ids = []
        for i in range(SCHEDULED):
            at = datetime.now(UTC) + timedelta(seconds=0.3 + i * 0.07)
            patch = {"memory_n_results": i + (100 if rt is a else 0)}
            ids.append((await rt.jobs.schedule_change(scopes.bot("mira"), patch, apply_at=at, reason="bench",
                                                      actor="bench")).id)
        delays: list[float] = []
        deadline = time.monotonic() + 30
        while len(delays) < SCHEDULED and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            changes = [await b.jobs.scheduled_change(i) for i in ids]
            delays = [c.delay_seconds * 1000 for c in changes if c.status == "applied" and c.delay_seconds is not None]
        d = summary(delays)
        rows += [{"figure": f"scheduled change lateness, created in {where} p50", "value": d["p50"], "unit": "ms",
                  "target": "≤ 1000 ms", "ok": d["p50"] <= 1000},
                 {"figure": f"scheduled change lateness, created in {where} p99", "value": d["p99"], "unit": "ms",
                  "target": "≤ 1000 ms", "ok": d["p99"] <= 1000}]
    return rows


if __name__ == "__main__":
    asyncio.run(main())
