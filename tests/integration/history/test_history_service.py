"""Audit queries, point-in-time reads, rollback, revert and snapshots on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.domain import scopes
from app.domain.audit import EventFilter
from app.domain.errors import BadRequest, Conflict, NotFound, ValidationFailed
from app.domain.events import Source
from app.domain.history import Point
from app.services import HistoryService, SettingsService, settings_with_history
from app.store.database import Database

MIRA, NOVA, GLOBAL = scopes.bot("mira"), scopes.bot("nova"), scopes.GLOBAL


async def counts(raw: asyncpg.Connection) -> tuple[int, int, int]:
    return (await raw.fetchval("SELECT count(*) FROM settings_events"),
            await raw.fetchval("SELECT count(*) FROM settings_changes"),
            await raw.fetchval("SELECT revision FROM settings_head"))


async def test_history_tells_who_changed_what_when_and_why_with_filters(
        service: SettingsService, history: HistoryService) -> None:
    first = await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.9}, actor="alice", reason="warmer")
    await service.patch(NOVA, {"temperature": 0.2}, actor="bob", reason="colder", source=Source.CLI)
    await service.patch(MIRA, {"temperature": 0.7}, actor="bob", reason="warmer still")
    page = await history.history(EventFilter(scope=MIRA, key="temperature"))
    assert [(e.revision, e.previous, e.value, e.actor, e.reason) for e in page.events] == [
        (4, 0.5, 0.7, "bob", "warmer still"), (1, None, 0.5, "alice", "warmer")]
    assert page.next_cursor is None and page.head == 4
    assert [e.revision for e in (await history.history(EventFilter(actor="bob"))).events] == [4, 3]
    assert [e.revision for e in (await history.history(EventFilter(source="cli"))).events] == [3]
    by_change = await history.history(EventFilter(change_id=first.change_id))
    assert [e.key for e in by_change.events] == ["top_p", "temperature"]
    t1 = by_change.events[0].recorded_at
    assert [e.revision for e in (await history.history(EventFilter(until=t1))).events] == [2, 1]
    assert [e.revision for e in (await history.history(EventFilter(since=t1 + timedelta(microseconds=1))))
            .events] == [4, 3]
    detail = await history.change(str(first.change_id))
    assert (detail.change.actor, detail.change.event_count, [e.key for e in detail.events]) == (
        "alice", 2, ["temperature", "top_p"])
    changes = await history.changes(EventFilter(scope=MIRA))
    assert [c.first_revision for c in changes.changes] == [4, 1]


async def test_pages_never_skip_or_repeat_an_event_while_writers_run(
        service: SettingsService, history: HistoryService) -> None:
    for i in range(30):
        await service.patch(scopes.bot(f"b{i % 3}"), {"memory_n_results": i, "temperature": i / 100}, actor="seed")
    stop = asyncio.Event()

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            # (wraps within the key's bounds: writes are quick enough to pass 900 here)
            await service.patch(scopes.bot(f"b{n}"), {"memory_n_results": 100 + i % 900}, actor=f"w{n}")

    writers = [asyncio.create_task(writer(n)) for n in range(3)]
    try:
        await asyncio.sleep(0.05)
        for flt in (EventFilter(), EventFilter(scope=scopes.bot("b1"))):
            seen: list[int] = []
            page = await history.history(flt, limit=7)
            top = page.events[0].revision
            while True:
                seen.extend(e.revision for e in page.events)
                await asyncio.sleep(0.005)  # let writers commit between pages
                if page.next_cursor is None:
                    break
                page = await history.history(flt, limit=7, cursor=page.next_cursor)
            assert seen == sorted(set(seen), reverse=True)  # newest first, no repeats
            everything = (await history.history(flt, limit=1000, cursor=str(top + 1))).events
            assert seen == [e.revision for e in everything]  # nothing skipped below the first page
    finally:
        stop.set()
        await asyncio.gather(*writers)


async def test_point_in_time_reads_by_revision_and_by_time(service: SettingsService, history: HistoryService) -> None:
    a = await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.9}, actor="t")
    await service.patch(GLOBAL, {"temperature": 1.0}, actor="t")
    await service.patch(MIRA, {"temperature": 0.7, "top_p": None}, actor="t")
    past = await history.state_at(Point(revision=2), MIRA)
    assert past.scopes == {"bots/mira": {"temperature": 0.5, "top_p": 0.9}} and past.head == 5
    assert (await history.state_at(Point(revision=5), MIRA)).scopes == {"bots/mira": {"temperature": 0.7}}
    assert (await history.state_at(Point(revision=3))).scopes == {
        "bots/mira": {"temperature": 0.5, "top_p": 0.9}, "global": {"temperature": 1.0}}
    assert (await history.state_at(Point(revision=0))).scopes == {}
    at_a = (await history.history(EventFilter(change_id=a.change_id))).events[0].recorded_at
    by_time = await history.state_at(Point(time=at_a), MIRA)
    assert by_time.revision == 2 and by_time.recorded_at == at_a
    snap = await history.snapshot_at("mira", Point(time=at_a))
    assert (snap.revision, snap["temperature"], snap.source("temperature").value) == (2, 0.5, "bot")
    assert snap["top_p"] == 0.9
    later = await history.snapshot_at("mira", Point(revision=5))
    assert (later["temperature"], later.source("top_p").value) == (0.7, "default")
    d = await history.diff(Point(revision=2), Point(revision=5))
    assert [(i.scope, i.key, i.change) for i in d.items] == [
        ("bots/mira", "temperature", "changed"), ("bots/mira", "top_p", "removed"), ("global", "temperature", "added")]


async def test_bad_points_and_ids_are_clear_errors_and_write_nothing(service: SettingsService, history: HistoryService,
                                                                      raw: asyncpg.Connection) -> None:
    with pytest.raises(BadRequest, match="the log is empty"):
        await history.state_at(Point(time=datetime.now(UTC)))
    await service.patch(MIRA, {"temperature": 0.5}, actor="t")
    before = await counts(raw)
    first = (await history.history(EventFilter())).events[0].recorded_at
    with pytest.raises(BadRequest, match="beyond the head revision 1"):
        await history.rollback(Point(revision=2), actor="t")
    with pytest.raises(BadRequest, match="before the first event"):
        await history.rollback(Point(time=first - timedelta(seconds=1)), actor="t")
    with pytest.raises(BadRequest, match="beyond the head"):
        await history.state_at(Point(revision=99), MIRA)
    with pytest.raises(NotFound, match="no change with id"):
        await history.revert(str(uuid.uuid4()), actor="t")
    with pytest.raises(BadRequest, match="not a change id"):
        await history.revert("not-a-uuid", actor="t")
    with pytest.raises(BadRequest, match="cursor"):
        await history.history(EventFilter(), cursor="abc")
    with pytest.raises(ValidationFailed, match="unknown setting"):
        await history.rollback(Point(revision=0), keys=["temprature"], actor="t")
    assert await counts(raw) == before


async def test_rollback_appends_one_change_restoring_sets_and_deletes(service: SettingsService, history: HistoryService,
                                                                     raw: asyncpg.Connection) -> None:
    await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.9}, actor="alice")
    await service.patch(NOVA, {"temperature": 0.3}, actor="alice")
    await service.patch(MIRA, {"temperature": 0.8, "top_p": None, "memory_n_results": 3}, actor="bob")
    dry = await history.rollback(Point(revision=2), scope=MIRA, dry_run=True, actor="ops")
    assert dry.change is None and await counts(raw) == (6, 3, 6)
    assert [(i.key, i.from_, i.to, i.to_present) for i in dry.diff] == [
        ("memory_n_results", 3, None, False), ("temperature", 0.8, 0.5, True), ("top_p", None, 0.9, True)]
    done = await history.rollback(Point(revision=2), scope=MIRA, actor="ops", reason="bad tuning")
    assert done.change is not None and done.change.changed
    assert (await history.state_at(Point(revision=done.change.head), MIRA)).scopes["bots/mira"] == {
        "temperature": 0.5, "top_p": 0.9}
    row = await raw.fetchrow("SELECT * FROM settings_changes WHERE id = $1", done.change.change_id)
    assert (row["source"], row["rollback_to"], row["event_count"]) == ("rollback", 2, 3)
    assert row["reason"] == "rollback of bots/mira to revision 2: bad tuning"
    # The original events are still there, and a second rollback has nothing to do.
    assert await raw.fetchval("SELECT count(*) FROM settings_events WHERE revision <= 6") == 6
    again = await history.rollback(Point(revision=2), scope=MIRA, actor="ops")
    assert again.change is None and again.diff == [] and await counts(raw) == (9, 4, 9)
    # Keys filter, all scopes: only temperature everywhere goes back to revision 0 (absent).
    keys_only = await history.rollback(Point(revision=0), keys=["temperature"], actor="ops")
    assert {(i.scope, i.key) for i in keys_only.diff} == {("bots/mira", "temperature"), ("bots/nova", "temperature")}
    assert (await service.verify()).ok


async def test_rollback_of_a_key_the_registry_no_longer_accepts_skips_it_and_restores_the_rest(
        service: SettingsService, history: HistoryService, raw: asyncpg.Connection) -> None:
    await service.patch(MIRA, {"temperature": 0.5}, actor="t")
    # Simulate a value written under an older registry: a key since removed. Appending
    # to the log is what an old version of this service did; the trigger allows INSERT.
    change = uuid.uuid4()
    await raw.execute("""
        INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value, previous,
                                     had_previous, key_version, actor, reason, source, recorded_at)
        VALUES (2, $1, 'bot', 'mira', 'retired_knob', 'set', '42', NULL, false, 1, 'old', '', 'api', now());
        INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason, source,
                                      recorded_at) VALUES ($1, 2, 2, 1, 'old', '', 'api', now());
        INSERT INTO settings_current VALUES ('bot', 'mira', 'retired_knob', '42', 1, 2, now(), 'old');
        UPDATE settings_head SET revision = 2;
    """.replace("$1", f"'{change}'"))
    await service.patch(MIRA, {"temperature": 0.9}, actor="t")
    result = await history.rollback(Point(revision=1), scope=MIRA, actor="ops")
    assert [(s.key, s.code) for s in result.skipped] == [("retired_knob", "unknown_key")]
    assert result.change is not None and [i.key for i in result.change.items] == ["temperature"]
    assert (await history.state_at(Point(revision=result.change.head), MIRA)).scopes["bots/mira"] == {
        "temperature": 0.5, "retired_knob": 42}
    # Reverting the old change cannot write the unknown key either: skipped, nothing appended.
    reverted = await history.revert(str(change), actor="ops")
    assert reverted.change is None and [s.key for s in reverted.skipped] == ["retired_knob"]


async def test_revert_restores_previous_values_and_refuses_when_a_later_change_touched_them(
        service: SettingsService, history: HistoryService, raw: asyncpg.Connection) -> None:
    await service.patch(MIRA, {"temperature": 0.5}, actor="t")
    bad = await service.patch(MIRA, {"temperature": 1.5, "top_p": 0.5}, actor="mallory")
    await service.patch(MIRA, {"top_p": 0.6}, actor="t")
    with pytest.raises(Conflict) as caught:
        await history.revert(str(bad.change_id), actor="ops")
    assert [e.key for e in caught.value.errors] == ["top_p"] and await counts(raw) == (4, 3, 4)
    forced = await history.revert(str(bad.change_id), force=True, actor="ops", reason="oops")
    assert forced.change is not None
    row = await raw.fetchrow("SELECT * FROM settings_changes WHERE id = $1", forced.change.change_id)
    assert (row["source"], row["reverts"]) == ("revert", bad.change_id)
    assert row["reason"] == f"revert of change {bad.change_id} (revisions 2…3): oops"
    assert (await history.state_at(Point(revision=forced.change.head), MIRA)).scopes["bots/mira"] == {
        "temperature": 0.5}
    clean = await service.patch(NOVA, {"temperature": 0.1}, actor="t")
    undone = await history.revert(str(clean.change_id), actor="ops")
    assert [(i.key, i.op) for i in undone.change.items] == [("temperature", "delete")]


async def test_snapshots_are_taken_every_n_revisions_and_reads_agree_with_and_without_them(
        db: Database, raw: asyncpg.Connection) -> None:
    plain, _ = settings_with_history(db, snapshot_every=0)
    snapping, snapping_history = settings_with_history(db, snapshot_every=10)
    for i in range(12):
        await snapping.patch(scopes.bot(f"b{i % 4}"), {"memory_n_results": i, "temperature": i / 20}, actor="t")
        await snapping.settle()  # the snapshot is written after the answer
    snaps = [r["revision"] for r in await raw.fetch("SELECT revision FROM settings_snapshots ORDER BY 1")]
    assert snaps == [10, 20]  # taken after the change that reached each threshold
    assert await snapping_history.snapshot_if_due() is None
    await plain.patch(MIRA, {"temperature": 0.1}, actor="t")
    assert await settings_with_history(db, snapshot_every=1)[1].snapshot_if_due() == 25
    expected = {}
    for rev in range(0, 26):
        # A snapshotting-blind replay of the log from the start, as the reference.
        rows = await raw.fetch("SELECT scope_type, scope_id, key, op, value FROM settings_events "
                               "WHERE revision <= $1 ORDER BY revision", rev)
        state: dict = {}
        for r in rows:
            name = "global" if r["scope_type"] == "global" else f"bots/{r['scope_id']}"
            if r["op"] == "set":
                state.setdefault(name, {})[r["key"]] = json.loads(r["value"])
            else:
                state.get(name, {}).pop(r["key"], None)
        expected = {k: v for k, v in state.items() if v}
        assert (await snapping_history.state_at(Point(revision=rev))).scopes == expected, rev
    assert expected
