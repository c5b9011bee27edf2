"""Several service processes on one database: exactly one runs the jobs."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from app.domain.scopes import GLOBAL
from app.store.leadership import LEADER_LOCK
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime
from tests.support.scheduler import Recorder, leader_of


async def _leader_backend(raw: asyncpg.Connection) -> int | None:
    pid: int | None = await raw.fetchval(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", LEADER_LOCK)
    return pid


async def _published(raw: asyncpg.Connection, next_run: object) -> bool:
    return await raw.fetchval("SELECT next_run_at FROM job_schedule WHERE job_id = 'history_summarization:mira'"
                              ) == next_run


async def test_two_processes_one_leader_and_only_the_leader_runs_jobs(make_runtime: MakeRuntime) -> None:
    recorders = [Recorder("a"), Recorder("b")]
    # A "minute" of 0.1 s: a 1-minute interval fires every 0.1 s.
    a, b = [await make_runtime(handlers={"profile_maintenance": r}, job_minute_seconds=0.1) for r in recorders]
    await a.service.set_value(GLOBAL,
                              "profile_maintenance_interval_minutes", 1, actor="t")
    leader = await leader_of(a, b)
    follower = b if leader is a else a
    working, idle = (recorders[0], recorders[1]) if leader is a else (recorders[1], recorders[0])
    await eventually(lambda: len(working.calls) >= 3, timeout=10)
    assert idle.calls == []
    runs = await leader.jobs.runs("profile_maintenance", 100)
    assert {r.runner for r in runs} == {leader.identity} and all(r.trigger == "schedule" for r in runs)
    assert follower.scheduler is not None and not follower.scheduler.is_leader


async def test_when_the_leaders_connection_is_terminated_the_other_takes_over(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    a = await make_runtime(handlers={"history_summarization": Recorder()})
    b = await make_runtime(handlers={"history_summarization": Recorder()})
    leader = await leader_of(a, b)
    follower = b if leader is a else a
    assert leader.scheduler is not None
    planned = await eventually(lambda: leader.scheduler.next_run("history_summarization:mira"))  # type: ignore[union-attr]
    await eventually(lambda: _published(raw, planned))
    pid = await _leader_backend(raw)
    assert pid is not None
    await raw.execute("SELECT pg_terminate_backend($1)", pid)
    started = time.monotonic()
    assert follower.scheduler is not None and leader.scheduler is not None
    await eventually(lambda: follower.scheduler.is_leader, timeout=10)  # type: ignore[union-attr]
    assert time.monotonic() - started < 10
    await eventually(lambda: not leader.scheduler.is_leader)  # type: ignore[union-attr]
    # The new leader continues the published schedule (not restarting every interval), and the deposed
    # one stands again as a candidate.
    assert await eventually(lambda: follower.scheduler.next_run("history_summarization:mira")) == planned  # type: ignore[union-attr]
    await asyncio.sleep(0.5)
    assert await _leader_backend(raw) not in (None, pid)
    assert [rt for rt in (a, b) if rt.scheduler and rt.scheduler.is_leader] == [follower]


async def test_a_graceful_stop_hands_leadership_over_at_once(make_runtime: MakeRuntime,
                                                             raw: asyncpg.Connection) -> None:
    a = await make_runtime()
    b = await make_runtime()
    leader = await leader_of(a, b)
    follower = b if leader is a else a
    await leader.stop_scheduler()
    started = time.monotonic()
    assert await leader_of(a, b, timeout=2) is follower and leader.scheduler is None
    assert time.monotonic() - started < 2


async def test_the_scheduler_can_be_switched_off(make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime(scheduler=False)
    assert rt.scheduler is None
    await asyncio.sleep(0.3)
    assert await _leader_backend(raw) is None
    assert (await rt.jobs.jobs()).scheduler == "off"


async def test_a_new_leader_marks_runs_its_predecessor_left_running_as_failed(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    insert = ("INSERT INTO job_runs (job_id, job, trigger, started_at, status, attempts, handler, runner, "
              "settings_revision, parameters) VALUES ($1, 'profile_maintenance', $2, now(), 'running', 1, 'x', "
              "'gone:1:abc', 0, '{}')")
    await raw.execute(insert, "profile_maintenance", "schedule")
    await raw.execute(insert, "profile_maintenance", "manual")  # a manual run elsewhere may still be going
    rt = await make_runtime()
    await leader_of(rt)
    rows = await raw.fetch("SELECT trigger, status, error FROM job_runs ORDER BY id")
    assert [(r["trigger"], r["status"]) for r in rows] == [("schedule", "failed"), ("manual", "running")]
    assert "abandoned" in rows[0]["error"]
