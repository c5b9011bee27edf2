"""The invariants of the change transaction (docs/architecture.md), each checked against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from app.domain import scopes
from app.domain.errors import Conflict, ValidationFailed
from app.domain.events import ChangeRequest, ChangeResult, Expectations, Source, delete_op, set_op
from app.services import SettingsService
from app.store import schema

MIRA, NOVA, GLOBAL = scopes.bot("mira"), scopes.bot("nova"), scopes.GLOBAL


async def count(raw: asyncpg.Connection, table: str) -> int:
    return await raw.fetchval(f"SELECT count(*) FROM {table}")


async def test_a_multi_key_patch_is_one_change_with_consecutive_revisions(
        service: SettingsService, raw: asyncpg.Connection) -> None:
    result = await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.9, "history_tokens": 10000},
                                 actor="alice", reason="tune mira")
    assert (result.first_revision, result.last_revision, result.head) == (1, 3, 3)
    rows = await raw.fetch("SELECT revision, change_id, key, actor, reason, source FROM settings_events "
                           "ORDER BY revision")
    assert [r["revision"] for r in rows] == [1, 2, 3]
    assert {r["change_id"] for r in rows} == {result.change_id}
    assert {(r["actor"], r["reason"], r["source"]) for r in rows} == {("alice", "tune mira", "api")}
    change = await raw.fetchrow("SELECT * FROM settings_changes")
    assert (change["first_revision"], change["last_revision"], change["event_count"]) == (1, 3, 3)
    assert await raw.fetchval("SELECT revision FROM settings_head") == 3


async def test_concurrent_writers_leave_no_revision_gap_and_follow_commit_order(
        service: SettingsService, raw: asyncpg.Connection) -> None:
    writers, changes_each = 16, 50

    async def writer(n: int) -> None:
        for i in range(changes_each):
            keys = {"temperature": round((n * changes_each + i) % 200 / 100, 2), "memory_n_results": i}
            await service.patch(scopes.bot(f"bot{n % 4}"), keys, actor=f"w{n}")

    await asyncio.gather(*(writer(n) for n in range(writers)))
    revisions = [r["revision"] for r in await raw.fetch("SELECT revision FROM settings_events ORDER BY revision")]
    assert revisions == list(range(1, len(revisions) + 1))
    assert await raw.fetchval("SELECT revision FROM settings_head") == len(revisions)
    # Commit order: a later revision never carries an earlier timestamp, and each
    # change's events are one contiguous run.
    assert await raw.fetchval("""
        SELECT count(*) FROM (SELECT recorded_at, lag(recorded_at) OVER (ORDER BY revision) AS prev
                              FROM settings_events) t WHERE recorded_at < prev""") == 0
    assert await raw.fetchval("""
        SELECT count(*) FROM settings_changes c
        WHERE (SELECT count(*) FROM settings_events e WHERE e.change_id = c.id
               AND e.revision BETWEEN c.first_revision AND c.last_revision) <> c.event_count""") == 0
    report = await service.verify()
    assert report.ok, report


async def test_the_log_refuses_update_delete_and_truncate(service: SettingsService, raw: asyncpg.Connection) -> None:
    await service.set_value(MIRA, "temperature", 0.5, actor="t")
    for table in ("settings_events", "settings_changes"):
        for statement in (f"UPDATE {table} SET actor = 'mallory'", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await raw.execute(statement)
    assert await raw.fetchval("SELECT actor FROM settings_events") == "t"


async def test_a_change_cancelled_mid_transaction_leaves_no_trace(
        service: SettingsService, raw: asyncpg.Connection, db_url: str) -> None:
    await service.set_value(MIRA, "temperature", 0.5, actor="t")
    # Hold the projection so the writer blocks after it has appended its events.
    blocker = await asyncpg.connect(service_dsn(db_url))
    tx = blocker.transaction()
    await tx.start()
    await blocker.execute("LOCK TABLE settings_current IN EXCLUSIVE MODE")
    task = asyncio.create_task(service.patch(MIRA, {"temperature": 0.9, "top_p": 0.5}, actor="t"))
    for _ in range(100):
        waiting = await raw.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
        if waiting:
            break
        await asyncio.sleep(0.02)
    assert waiting, "the writer never reached the projection"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await tx.rollback()
    await blocker.close()
    assert await count(raw, "settings_events") == 1
    assert await count(raw, "settings_changes") == 1
    assert await raw.fetchval("SELECT revision FROM settings_head") == 1
    assert (await service.key_view(MIRA, "temperature")).value == 0.5
    assert (await service.verify()).ok
    # The next change takes revision 2: the cancelled one left no gap.
    result = await service.set_value(MIRA, "temperature", 0.6, actor="t")
    assert result.first_revision == 2


def service_dsn(db_url: str) -> str:
    from app.store.engine import asyncpg_dsn

    return asyncpg_dsn(db_url)


async def test_the_projection_equals_a_replay_and_rebuild_repairs_drift(
        service: SettingsService, raw: asyncpg.Connection) -> None:
    await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.9}, actor="t")
    await service.patch(NOVA, {"history_tokens": 4000}, actor="t")
    await service.patch(MIRA, {"top_p": None}, actor="t")
    assert (await service.verify()).ok
    await raw.execute("UPDATE settings_current SET value = '0.1' WHERE key = 'temperature'")
    await raw.execute("DELETE FROM settings_current WHERE scope_id = 'nova'")
    await raw.execute("INSERT INTO settings_current VALUES ('bot', 'ghost', 'temperature', '1', 1, 99, now(), 'x')")
    report = await service.verify()
    assert not report.ok
    assert {(d.scope, d.key, d.problem) for d in report.drift} == {
        ("bots/mira", "temperature", "value"), ("bots/nova", "history_tokens", "missing"),
        ("bots/ghost", "temperature", "unexpected")}
    assert await service.rebuild() == 2
    assert (await service.verify()).ok
    assert (await service.key_view(MIRA, "temperature")).value == 0.5


async def test_a_write_that_changes_nothing_appends_nothing_and_says_so(
        service: SettingsService, raw: asyncpg.Connection) -> None:
    await service.set_value(MIRA, "temperature", 0.5, actor="t")
    again = await service.set_value(MIRA, "temperature", 0.5, actor="t")
    absent = await service.delete_value(MIRA, "top_p", actor="t")
    same_patch = await service.patch(MIRA, {"temperature": 0.5, "top_p": None}, actor="t")
    for result in (again, absent, same_patch):
        assert not result.changed and result.change_id is None and result.head == 1
        assert not any(item.changed for item in result.items)
    assert await count(raw, "settings_events") == 1
    # Part no-op: only the key that changes gets an event.
    partial = await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.7}, actor="t")
    assert [(i.key, i.changed) for i in partial.items] == [("temperature", False), ("top_p", True)]
    assert await count(raw, "settings_events") == 2


async def test_two_writers_with_the_same_expectation_exactly_one_wins(
        service: SettingsService, raw: asyncpg.Connection) -> None:
    first = await service.set_value(MIRA, "temperature", 0.5, actor="t")
    version = first.items[0].key_version
    revision = first.head
    results = await asyncio.gather(
        service.set_value(MIRA, "temperature", 0.6, actor="a", expect_version=version),
        service.set_value(MIRA, "temperature", 0.7, actor="b", expect_version=version),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ChangeResult", "Conflict"]
    assert await count(raw, "settings_events") == 2
    scope_results = await asyncio.gather(
        service.patch(MIRA, {"top_p": 0.5}, actor="a", expect_revision=revision + 1),
        service.patch(MIRA, {"top_p": 0.6, "temperature": 0.1}, actor="b", expect_revision=revision + 1),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in scope_results) == ["ChangeResult", "Conflict"]
    conflict = next(r for r in scope_results if isinstance(r, Conflict))
    winner = next(r for r in scope_results if isinstance(r, ChangeResult))
    assert conflict.errors[0].code == "revision_mismatch"
    # Either writer may win the race; only the winner's events (1 or 2) are appended.
    assert await count(raw, "settings_events") == 2 + len(winner.items)
    assert winner.last_revision == await count(raw, "settings_events")
    assert (await service.verify()).ok


async def test_expectation_on_a_never_written_key_is_version_zero(service: SettingsService) -> None:
    await service.set_value(MIRA, "temperature", 0.5, actor="t", expect_version=0)
    with pytest.raises(Conflict):
        await service.set_value(MIRA, "temperature", 0.6, actor="t", expect_version=0)


@pytest.mark.parametrize(("ops", "offending"), [
    ([set_op(MIRA, "nonsense", 1)], ["nonsense"]),
    ([set_op(MIRA, "temperature", "warm")], ["temperature"]),
    ([set_op(MIRA, "temperature", 2.1)], ["temperature"]),
    ([set_op(MIRA, "profile_maintenance_interval_minutes", 5)], ["profile_maintenance_interval_minutes"]),
    ([set_op(GLOBAL, "system_prompt", "hi")], ["system_prompt"]),
    ([set_op(GLOBAL, "database_url", "postgresql://x")], ["database_url"]),
    ([set_op(MIRA, "tavily_api_key", "secret")], ["tavily_api_key"]),
    ([set_op(MIRA, "nextcloud", {"x": "y" * 200_000})], ["nextcloud"]),
    ([set_op(MIRA, "temperature", 0.5), set_op(MIRA, "top_p", 0), delete_op(MIRA, "bogus")], ["top_p", "bogus"]),
])
async def test_bad_input_names_each_key_and_writes_nothing(
        service: SettingsService, raw: asyncpg.Connection, ops: list, offending: list[str]) -> None:
    await service.set_value(NOVA, "temperature", 0.3, actor="t")
    with pytest.raises(ValidationFailed) as exc:
        await service.apply(ChangeRequest(ops=ops, actor="t"))
    assert [e.key for e in exc.value.errors] == offending
    assert await raw.fetchval("SELECT revision FROM settings_head") == 1
    assert await count(raw, "settings_events") == 1
    assert await count(raw, "settings_current") == 1


async def test_a_bad_slug_is_refused_before_anything_is_written(service: SettingsService,
                                                               raw: asyncpg.Connection) -> None:
    with pytest.raises(scopes.InvalidScope, match="invalid bot slug 'Mira!'"):
        await service.set_value(scopes.bot("Mira!"), "temperature", 0.5, actor="t")
    assert await count(raw, "settings_events") == 0


async def test_a_committed_change_notifies_its_revision_range(service: SettingsService,
                                                             raw: asyncpg.Connection) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()
    await raw.add_listener(schema.NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[3]))
    result = await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.8}, actor="t", source=Source.CLI)
    payload = json.loads(await asyncio.wait_for(received.get(), 5))
    assert (payload["first"], payload["last"]) == (1, 2)
    # The batch itself rides along (app/store/notify_payload.py): other processes apply it without a query.
    [change] = payload["changes"]
    assert (change["id"], change["first"], change["actor"], change["source"]) == (str(result.change_id), 1, "t", "cli")
    assert change["events"] == [["bot", "mira", "temperature", "set", 0.5, None, False, 1],
                                ["bot", "mira", "top_p", "set", 0.8, None, False, 1]]
    await service.set_value(MIRA, "temperature", 0.5, actor="t")  # no-op: no notification
    await asyncio.sleep(0.2)
    assert received.empty()


async def test_a_json_null_value_is_kept_apart_from_a_delete(service: SettingsService) -> None:
    await service.set_value(MIRA, "extraction_model", "small", actor="t")
    result = await service.set_value(MIRA, "extraction_model", None, actor="t")
    assert result.changed
    view = await service.key_view(MIRA, "extraction_model")
    assert (view.present, view.value, view.key_version) == (True, None, 2)
    await service.delete_value(MIRA, "extraction_model", actor="t")
    view = await service.key_view(MIRA, "extraction_model")
    assert (view.present, view.key_version) == (False, 3)
    assert (await service.verify()).ok


async def test_expectations_and_ops_across_several_scopes_commit_together(service: SettingsService) -> None:
    result = await service.apply(ChangeRequest(
        ops=[set_op(MIRA, "temperature", 0.4), set_op(NOVA, "temperature", 0.2), set_op(GLOBAL, "top_p", 0.9)],
        actor="t", expect=Expectations(scope_revisions={MIRA: 0, NOVA: 0})))
    assert result.last_revision == 3 and len({i.scope for i in result.items}) == 3
