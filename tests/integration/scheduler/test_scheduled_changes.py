"""Scheduled setting changes: applied once, on time, by the leader, with their reason."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.domain import scopes
from app.domain.errors import Conflict, ValidationFailed
from app.scheduler.scheduled_changes import ScheduledChangeApplier
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime
from tests.support.scheduler import leader_of

MIRA = scopes.bot("mira")


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def _events(raw: asyncpg.Connection) -> list[asyncpg.Record]:
    return await raw.fetch("SELECT revision, scope_id, key, value, source, reason, actor FROM settings_events "
                           "ORDER BY revision")


async def test_a_change_is_applied_at_its_time_as_one_change_with_its_reason(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime()
    await leader_of(rt)
    apply_at = soon(1.0)
    change = await rt.jobs.schedule_change(MIRA, {"temperature": 0.3, "top_p": 0.5}, apply_at=apply_at,
                                           reason="night mode", actor="alice")
    assert change.status == "pending" and change.scope == "bots/mira"
    await asyncio.sleep(0.3)
    events = await _events(raw)
    if datetime.now(UTC) < apply_at:  # (a stalled machine may already be past it)
        assert events == []  # not before its time
    done = await eventually(lambda: _settled(rt, change.id), timeout=5)
    assert done.status == "applied" and done.delay_seconds is not None and 0 <= done.delay_seconds < 2
    events = await _events(raw)
    assert sorted((e["key"], json.loads(e["value"]), e["source"], e["reason"], e["actor"]) for e in events) == [
        ("temperature", 0.3, "scheduler", "night mode", "alice"), ("top_p", 0.5, "scheduler", "night mode", "alice")]
    assert (done.first_revision, done.last_revision) == (1, 2)
    assert await raw.fetchval("SELECT count(*) FROM settings_changes WHERE source = 'scheduler'") == 1
    await rt.service.refresh()  # the applied mark commits with the change, before the resolver hears of it
    assert rt.service.snapshot("mira")["temperature"] == 0.3


async def _settled(rt, change_id):  # type: ignore[no-untyped-def]
    change = await rt.jobs.scheduled_change(change_id)
    return change if change.status != "pending" else None


async def test_two_appliers_at_once_apply_a_change_exactly_once(make_runtime: MakeRuntime,
                                                                raw: asyncpg.Connection) -> None:
    """Even if leadership flips mid-way and two processes both believe they lead."""
    a = await make_runtime(schedule=False)
    b = await make_runtime(schedule=False)
    for round_ in range(5):
        change = await a.jobs.schedule_change(MIRA, {"memory_n_results": round_ + 1}, apply_at=soon(0.05),
                                              reason=f"round {round_}", actor="t")
        await asyncio.sleep(0.06)
        due = await a.jobs.scheduled_change(change.id)
        outcomes = await asyncio.gather(*(ScheduledChangeApplier(rt.jobs, f"applier-{n}").apply(due)
                                          for n, rt in enumerate((a, b, a, b))))
        assert sorted(outcomes) == [False, False, False, True]
        applied = await a.jobs.scheduled_change(change.id)
        assert applied.status == "applied" and applied.applied_by == f"applier-{outcomes.index(True)}"
    assert await raw.fetchval("SELECT count(*) FROM settings_changes WHERE source = 'scheduler'") == 5
    # A late second applier, holding the change as it was when due, after an operator
    # has moved the value on: it must not put the scheduled value back.
    await a.service.set_value(MIRA, "memory_n_results", 42, actor="operator")
    assert await ScheduledChangeApplier(b.jobs, "late").apply(due) is False
    await b.service.refresh()
    assert b.service.snapshot("mira")["memory_n_results"] == 42
    assert [e["value"] for e in await _events(raw)] == ["1", "2", "3", "4", "5", "42"]


async def test_with_two_processes_each_change_is_applied_once(make_runtime: MakeRuntime,
                                                              raw: asyncpg.Connection) -> None:
    a = await make_runtime()
    b = await make_runtime()
    await leader_of(a, b)
    ids = [(await b.jobs.schedule_change(MIRA, {"memory_n_results": n}, apply_at=soon(0.2 + n * 0.05),
                                         reason="ramp", actor="t")).id for n in range(1, 6)]
    for change_id in ids:
        await eventually(lambda change_id=change_id: _settled(a, change_id), timeout=5)
    assert await raw.fetchval("SELECT count(*) FROM settings_changes WHERE source = 'scheduler'") == 5


async def test_overdue_changes_are_applied_at_start_and_the_delay_recorded(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    cli = await make_runtime(schedule=False)  # no leader running: the service is "down"
    first = await cli.jobs.schedule_change(MIRA, {"temperature": 0.1}, apply_at=soon(0.2), reason="a", actor="t")
    second = await cli.jobs.schedule_change(scopes.GLOBAL, {"temperature": 0.2}, apply_at=soon(0.3), reason="b",
                                            actor="t")
    await asyncio.sleep(1.0)
    assert await _events(raw) == []
    rt = await make_runtime()
    await leader_of(rt)
    one = await eventually(lambda: _settled(rt, first.id), timeout=3)
    two = await eventually(lambda: _settled(rt, second.id), timeout=3)
    assert one.status == two.status == "applied"
    assert one.delay_seconds is not None and one.delay_seconds >= 0.8
    assert [e["reason"] for e in await _events(raw)] == ["a", "b"]  # in the order they were due


async def test_a_patch_that_became_invalid_is_marked_failed_and_writes_nothing(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime()
    await leader_of(rt)
    # As stored by a version whose registry allowed it (bounds, keys and scopes change over time).
    change_id = uuid.uuid4()
    await raw.execute(
        "INSERT INTO scheduled_changes (id, scope_type, scope_id, patch, reason, actor, apply_at, created_at, status)"
        " VALUES ($1, 'bot', 'mira', $2, 'old', 't', clock_timestamp(), clock_timestamp(), 'pending')",
        change_id, json.dumps({"temperature": 9, "retired_key": 1}))
    bad_scope = uuid.uuid4()
    await raw.execute(
        "INSERT INTO scheduled_changes (id, scope_type, scope_id, patch, reason, actor, apply_at, created_at, status)"
        " VALUES ($1, 'bot', 'Not A Slug', $2, 'old', 't', clock_timestamp(), clock_timestamp(), 'pending')",
        bad_scope, json.dumps({"temperature": 0.5}))
    failed = await eventually(lambda: _settled(rt, change_id), timeout=3)
    assert failed.status == "failed" and failed.error is not None
    assert "temperature" in failed.error and "retired_key" in failed.error
    unscoped = await eventually(lambda: _settled(rt, bad_scope), timeout=3)
    assert unscoped.status == "failed" and unscoped.error is not None and "invalid bot slug" in unscoped.error
    assert await _events(raw) == []


async def test_scheduling_validates_the_patch_and_the_time(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(schedule=False)
    with pytest.raises(ValidationFailed) as bad:
        await rt.jobs.schedule_change(MIRA, {"temperature": 5, "nonsense": 1}, apply_at=soon(60), reason="", actor="t")
    assert {e.key for e in bad.value.errors} == {"temperature", "nonsense"}
    with pytest.raises(ValidationFailed, match="not in the future"):
        await rt.jobs.schedule_change(MIRA, {"temperature": 0.5}, apply_at=soon(-5), reason="", actor="t")
    with pytest.raises(ValidationFailed, match="time zone"):
        await rt.jobs.schedule_change(MIRA, {"temperature": 0.5}, apply_at=datetime.now() + timedelta(hours=1),
                                      reason="", actor="t")
    with pytest.raises(ValidationFailed, match="global scope"):
        await rt.jobs.schedule_change(scopes.GLOBAL, {"system_prompt": "x"}, apply_at=soon(60), reason="",
                                      actor="t")
    assert await rt.jobs.scheduled_changes() == []
    legacy = await rt.jobs.schedule_change(MIRA, {"max_tokens": 100}, apply_at=soon(60), reason="", actor="t")
    assert legacy.patch == {"max_output_tokens": 100}


async def test_a_cancelled_change_is_never_applied(make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime()
    await leader_of(rt)
    change = await rt.jobs.schedule_change(MIRA, {"temperature": 0.3}, apply_at=soon(0.5), reason="", actor="t")
    cancelled = await rt.jobs.cancel_scheduled(change.id, "bob")
    assert (cancelled.status, cancelled.applied_by) == ("cancelled", "bob")
    with pytest.raises(Conflict, match="cancelled, not pending"):
        await rt.jobs.cancel_scheduled(change.id, "bob")
    await asyncio.sleep(1.0)
    assert await _events(raw) == []
    assert [c.status for c in await rt.jobs.scheduled_changes("cancelled")] == ["cancelled"]
    assert await rt.jobs.scheduled_changes("pending") == []


async def test_a_change_that_would_break_a_bot_at_its_time_fails_with_the_model_limit(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime()
    await leader_of(rt)
    # Valid when scheduled (the registry's bounds); at its time nova's model (qwen3-8b,
    # replies of at most 8192 tokens) cannot honour it.
    change = await rt.jobs.schedule_change(scopes.bot("nova"), {"max_output_tokens": 9000}, apply_at=soon(0.5),
                                           reason="longer answers", actor="alice")
    failed = await eventually(lambda: _settled(rt, change.id), timeout=5)
    assert failed.status == "failed" and failed.error is not None
    assert "bot 'nova' (model qwen3-8b): max_output_tokens 9000 (bot) is above the model's output limit 8192" \
        in failed.error
    assert await _events(raw) == []
