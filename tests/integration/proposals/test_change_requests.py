"""Change requests (four eyes): proposed by one person, approved by another, applied
exactly once — at once, or at their time by the scheduler's leader."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.domain import scopes
from app.domain.access import Forbidden, Principal, Role
from app.domain.errors import Conflict, ValidationFailed
from app.domain.proposals import ApprovalPolicy, ApprovalRequired
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime
from tests.support.scheduler import leader_of

ALICE = Principal(name="alice", role=Role.WRITER)
BOB = Principal(name="bob", role=Role.WRITER)
ADMIN = Principal(name="root", role=Role.ADMIN)
MIRA_ONLY = Principal(name="mira-ops", role=Role.WRITER, bots=frozenset({"mira"}))


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def _events(raw: asyncpg.Connection) -> list[asyncpg.Record]:
    return await raw.fetch("SELECT scope_id, key, value, source, reason, actor, change_id FROM settings_events "
                           "ORDER BY revision")


async def test_approved_by_another_person_it_is_applied_at_once_naming_both(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False)
    proposals = rt.services.proposals
    p = await proposals.propose(ALICE, {"bots/mira": {"temperature": 0.4, "top_p": None}},
                                reason="calmer answers")
    assert p.status == "pending" and p.author == "alice"
    view = await proposals.show(BOB, p.id)
    assert [(d.key, d.op, d.present, d.changes) for d in view.diff] == [
        ("temperature", "set", False, True), ("top_p", "delete", False, False)]
    assert await _events(raw) == []  # nothing written by proposing

    with pytest.raises(Forbidden, match="may not approve"):
        await proposals.approve(ALICE, p.id)
    assert (await proposals.get(BOB, p.id)).status == "pending"

    done = await proposals.approve(BOB, p.id, "looks right")
    assert done.status == "applied" and done.decided_by == "bob" and done.change_id is not None
    events = await _events(raw)
    assert [(e["key"], json.loads(e["value"]), e["source"], e["actor"]) for e in events] == [
        ("temperature", 0.4, "change_request", "alice")]
    assert "proposed by alice, approved by bob" in events[0]["reason"]
    assert events[0]["reason"].startswith("calmer answers")
    assert events[0]["change_id"] == done.change_id
    assert rt.service.snapshot("mira")["temperature"] == 0.4
    # Settled: neither approved nor cancelled again.
    with pytest.raises(Conflict, match="applied"):
        await proposals.cancel(ALICE, p.id)


async def test_apply_at_waits_for_the_leader_and_applies_once(make_runtime: MakeRuntime,
                                                             raw: asyncpg.Connection) -> None:
    rt = await make_runtime()
    other = await make_runtime()
    await leader_of(rt, other)
    apply_at = soon(1.5)
    p = await rt.services.proposals.propose(ALICE, {"global": {"history_tokens": 9000},
                                                   "bots/nova": {"temperature": 0.2}},
                                            reason="night mode", apply_at=apply_at)
    with pytest.raises(Forbidden, match="needs admin"):  # a writer may not approve the global scope
        await rt.services.proposals.approve(BOB, p.id)
    approved = await other.services.proposals.approve(ADMIN, p.id)
    assert approved.status == "approved"
    if datetime.now(UTC) < apply_at - timedelta(seconds=0.3):
        assert await _events(raw) == []  # not before its time

    async def applied():  # type: ignore[no-untyped-def]
        found = await rt.services.proposals.get(ADMIN, p.id)
        return found if found.status == "applied" else None

    done = await eventually(applied, timeout=6)
    assert done.applied_at is not None and done.applied_at >= apply_at
    events = await _events(raw)
    assert sorted((e["scope_id"], e["key"]) for e in events) == [("*", "history_tokens"), ("nova", "temperature")]
    assert {e["change_id"] for e in events} == {done.change_id}  # one change, both scopes
    assert all("approved by root" in e["reason"] and e["actor"] == "alice" for e in events)
    # Applying it again (a second applier, a deposed leader) writes nothing.
    assert await rt.services.proposals.apply(done) is False
    assert await other.services.proposals.apply(approved) is False
    await asyncio.sleep(1.2)
    assert len(await _events(raw)) == 2


async def test_two_appliers_at_once_apply_it_exactly_once(make_runtime: MakeRuntime,
                                                         raw: asyncpg.Connection) -> None:
    a, b = await make_runtime(schedule=False), await make_runtime(schedule=False)
    p = await a.services.proposals.propose(ALICE, {"bots/mira": {"temperature": 0.9}}, reason="x",
                                           apply_at=soon(30))
    approved = await b.services.proposals.approve(BOB, p.id)
    assert approved.status == "approved"
    results = await asyncio.gather(a.services.proposals.apply(approved), b.services.proposals.apply(approved))
    assert sorted(results) == [False, True]
    assert await raw.fetchval("SELECT count(*) FROM settings_changes WHERE source = 'change_request'") == 1


async def test_invalid_when_proposed_is_refused_and_invalid_when_applied_fails(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False)
    proposals = rt.services.proposals
    with pytest.raises(ValidationFailed) as refused:
        await proposals.propose(ALICE, {"bots/mira": {"temperature": 9, "no_such_key": 1}}, reason="")
    assert {e.key for e in refused.value.errors} >= {"temperature", "no_such_key", "reason"}
    with pytest.raises(ValidationFailed, match="not in the future"):
        await proposals.propose(ALICE, {"bots/mira": {"temperature": 0.5}}, reason="r",
                                apply_at=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(Forbidden):  # a reader may not propose
        await proposals.propose(Principal(name="r", role=Role.READER), {"bots/mira": {"temperature": 0.5}},
                                reason="r")
    with pytest.raises(Forbidden):  # a token limited to mira may not name nova
        await proposals.propose(MIRA_ONLY, {"bots/nova": {"temperature": 0.5}}, reason="r")
    assert await raw.fetchval("SELECT count(*) FROM change_requests") == 0

    # Valid when proposed; by the time it is applied the stored row says otherwise
    # (a later registry would refuse it): it is marked failed, nothing is written.
    p = await proposals.propose(ALICE, {"bots/mira": {"temperature": 0.5}}, reason="r", apply_at=soon(30))
    await raw.execute("UPDATE change_requests SET patches = '{\"bots/mira\": {\"temperature\": 7}}' WHERE id = $1",
                      p.id)
    await proposals.approve(BOB, p.id)
    stale = await proposals.get(BOB, p.id)
    assert await proposals.apply(stale) is False
    failed = await proposals.get(BOB, p.id)
    assert failed.status == "failed" and "temperature" in (failed.error or "")
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0


async def test_reject_cancel_and_visibility(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(schedule=False)
    proposals = rt.services.proposals
    nova = await proposals.propose(ALICE, {"bots/nova": {"temperature": 0.5}}, reason="r")
    mira = await proposals.propose(ALICE, {"bots/mira": {"temperature": 0.5}}, reason="r")
    # A token limited to mira neither sees nor decides nova's request.
    assert [p.id for p in await proposals.list_requests(MIRA_ONLY)] == [mira.id]
    with pytest.raises(Exception, match="no change request"):
        await proposals.reject(MIRA_ONLY, nova.id)
    rejected = await proposals.reject(MIRA_ONLY, mira.id, "not now")
    assert (rejected.status, rejected.decided_by, rejected.decision_note) == ("rejected", "mira-ops", "not now")
    with pytest.raises(Conflict, match="rejected"):
        await proposals.approve(BOB, mira.id)
    with pytest.raises(Forbidden):  # someone else's request: only who could approve it may cancel
        await proposals.cancel(Principal(name="carol", role=Role.READER), nova.id)
    cancelled = await proposals.cancel(ALICE, nova.id)
    assert cancelled.status == "cancelled"
    assert [p.status for p in await proposals.list_requests(ADMIN, "cancelled")] == ["cancelled"]
    with pytest.raises(ValidationFailed, match="no status"):
        await proposals.list_requests(ADMIN, "done")


async def test_the_approval_policy_refuses_direct_writes_unless_bypassed(make_runtime: MakeRuntime,
                                                                       raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False, require_approval="global")
    assert rt.service.approval is ApprovalPolicy.GLOBAL
    with pytest.raises(ApprovalRequired, match="change request") as refused:
        await rt.service.patch(scopes.GLOBAL, {"temperature": 0.5}, actor="alice")
    assert refused.value.extra == {"change_requests": "/v1/change-requests"}
    with pytest.raises(ApprovalRequired):
        await rt.jobs.schedule_change(scopes.GLOBAL, {"temperature": 0.5}, apply_at=soon(60), reason="",
                                      actor="alice")
    await rt.service.patch(scopes.bot("mira"), {"temperature": 0.5}, actor="alice")  # bots are not protected
    with pytest.raises(ValidationFailed, match="needs a reason"):
        await rt.service.patch(scopes.GLOBAL, {"temperature": 0.5}, actor="root", bypass=" ")
    result = await rt.service.patch(scopes.GLOBAL, {"temperature": 0.6}, actor="root", reason="incident",
                                    bypass="pager 4711")
    assert result.changed
    reasons = [r["reason"] for r in await raw.fetch("SELECT reason FROM settings_events WHERE scope_id = '*'")]
    assert reasons == ["incident (approval bypassed by root: pager 4711)"]
    # The approved path is open.
    p = await rt.services.proposals.propose(ALICE, {"global": {"temperature": 0.7}}, reason="r")
    assert (await rt.services.proposals.approve(ADMIN, p.id)).status == "applied"


async def test_a_guarded_change_request_starts_its_guard_with_the_change(make_runtime: MakeRuntime,
                                                                        raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False)
    p = await rt.services.proposals.propose(ALICE, {"global": {"temperature": 0.5}}, reason="r",
                                            guard_seconds=900)
    done = await rt.services.proposals.approve(ADMIN, p.id)
    row = await raw.fetchrow("SELECT change_id, status, window_seconds, bots, actor FROM change_guards")
    assert (row["change_id"], row["status"], row["window_seconds"], row["actor"]) == (
        done.change_id, "watching", 900.0, "alice")
    assert json.loads(row["bots"]) == rt.service.known_bots()  # the global scope reaches every bot
    detail = await rt.services.history.change(str(done.change_id))
    assert detail.guard is not None and detail.guard.status == "watching"
    assert detail.approval is not None and (detail.approval.author, detail.approval.approver) == ("alice", "root")
