"""A guard's state lives in the database: the change is made in one process, the guard
is judged by whichever process leads — also one started after the change, or the
next leader after the first one stepped down."""

from __future__ import annotations

import asyncpg

from app.domain import scopes
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime
from tests.support.scheduler import leader_of


async def _status(rt, change_id):  # type: ignore[no-untyped-def]
    guard = (await rt.services.history.change(str(change_id))).guard
    return guard if guard is not None and guard.status != "watching" else None


async def test_a_guard_is_settled_by_the_next_leader(make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    writer = await make_runtime(schedule=False)
    result = await writer.services.guards.patch(scopes.bot("mira"), {"temperature": 0.3}, guard_seconds=1.5,
                                                actor="alice", reason="try it")
    assert await raw.fetchval("SELECT status FROM change_guards") == "watching"
    first = await make_runtime()
    await leader_of(first)
    await first.stop_scheduler()  # the leader goes away before the window ends
    second = await make_runtime()
    await leader_of(second)
    guard = await eventually(lambda: _status(second, result.change_id), timeout=8)
    assert guard.status == "passed" and "too few replies" in (guard.note or "")
    assert await raw.fetchval("SELECT count(*) FROM settings_events WHERE source = 'guard'") == 0


async def test_a_guarded_change_that_changes_nothing_starts_no_guard(make_runtime: MakeRuntime,
                                                                    raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False)
    await rt.service.patch(scopes.bot("mira"), {"temperature": 0.3}, actor="a")
    again = await rt.services.guards.patch(scopes.bot("mira"), {"temperature": 0.3}, guard_seconds=60, actor="a")
    assert not again.changed
    assert await raw.fetchval("SELECT count(*) FROM change_guards") == 0
