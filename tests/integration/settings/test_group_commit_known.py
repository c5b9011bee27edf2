"""The group commit's one-statement batch (app/store/known_state.py): planned from what
the writer knows of the log, written only if the head is still the one it knew, and
otherwise the long way, under the lock — with the same outcome either way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.domain import scopes
from app.domain.errors import Conflict
from app.runtime import Runtime
from app.services import SettingsService
from app.store.database import Database
from tests.support.polling import eventually

MIRA = scopes.bot("mira")


@pytest.fixture
async def elsewhere(db_url: str) -> AsyncIterator[SettingsService]:
    """Another writer on the same database (a process this one hears nothing from)."""
    db = Database(db_url)
    service = SettingsService(db)
    yield service
    await service.close()
    await db.dispose()


async def test_known_keys_commit_in_one_statement_and_reach_others_through_the_payload(
        pair: tuple[Runtime, Runtime], raw: asyncpg.Connection) -> None:
    a, b = pair
    assert b.listener is not None
    await a.service.patch(MIRA, {"temperature": 0.1, "top_p": 0.2}, actor="t")  # now known to a's writer
    await eventually(lambda: b.service.revision == 2)
    one_statement, from_log = a.service.committer.one_statement, b.listener.from_log
    results = [await a.service.patch(MIRA, {"temperature": 0.3 + n / 10, "top_p": None}, actor=f"t{n}",
                                     reason="fast") for n in range(3)]
    assert a.service.committer.one_statement == one_statement + 3
    # Another process applied each from its NOTIFY payload, with the database's timestamp.
    await eventually(lambda: b.service.revision == results[-1].head)
    assert b.listener.from_log == from_log
    assert b.service.snapshot("mira")["temperature"] == 0.5 and b.service.snapshot("mira")["top_p"] != 0.2
    rows = await raw.fetch("SELECT e.revision, e.change_id, e.key, e.op, e.value, e.key_version, e.actor, e.reason,"
                           " e.recorded_at, c.recorded_at AS change_at FROM settings_events e"
                           " JOIN settings_changes c ON c.id = e.change_id ORDER BY e.revision")
    assert [r["revision"] for r in rows] == list(range(1, 7))
    assert await raw.fetchval("SELECT revision FROM settings_head") == 6
    # The first fast change: temperature set and top_p deleted, its own change id and revisions.
    assert (rows[2]["change_id"], rows[2]["key"], json.loads(rows[2]["value"]), rows[2]["key_version"]) == (
        results[0].change_id, "temperature", 0.3, 2)
    assert (rows[3]["key"], rows[3]["op"], rows[3]["key_version"], rows[3]["actor"]) == ("top_p", "delete", 2, "t0")
    # The later ones delete nothing more (top_p is gone): one event each.
    assert [(r.first_revision, r.last_revision) for r in results] == [(3, 4), (5, 5), (6, 6)]
    assert all(r["recorded_at"] == r["change_at"] for r in rows)
    assert [r["recorded_at"] for r in rows] == sorted(r["recorded_at"] for r in rows)
    assert (await a.service.verify()).ok


async def test_a_write_elsewhere_sends_the_next_batch_the_long_way(
        service: SettingsService, elsewhere: SettingsService, raw: asyncpg.Connection) -> None:
    first = await service.set_value(MIRA, "temperature", 0.5, actor="here")
    await service.set_value(MIRA, "temperature", 0.6, actor="here")
    one_statement = service.committer.one_statement
    assert one_statement >= 1  # the second write was one statement
    # Another process sets the same key, and this one hears nothing of it.
    other = await elsewhere.set_value(MIRA, "temperature", 0.9, actor="there")
    # An If-Match on the version this writer knew is refused: the log has moved.
    with pytest.raises(Conflict):
        await service.set_value(MIRA, "temperature", 0.7, actor="here", expect_version=2)
    assert service.committer.one_statement == one_statement  # found out, and went the long way
    # The long way read the log under the lock: this writer knows it again.
    again = await service.set_value(MIRA, "temperature", 0.6, actor="here")
    assert again.changed and again.items[0].previous == 0.9 and again.items[0].key_version == 4
    assert service.committer.one_statement == one_statement + 1
    assert [r["revision"] for r in await raw.fetch("SELECT revision FROM settings_events ORDER BY 1")] == [
        1, 2, other.first_revision, again.first_revision] == [1, 2, 3, 4]
    assert first.first_revision == 1
    assert (await service.verify()).ok


async def test_a_change_that_changes_nothing_is_checked_against_the_head(
        service: SettingsService, elsewhere: SettingsService) -> None:
    await service.set_value(MIRA, "top_p", 0.4, actor="here")
    noop = await service.set_value(MIRA, "top_p", 0.4, actor="here")  # known, and the head has not moved
    assert not noop.changed and service.committer.one_statement == 1
    await elsewhere.delete_value(MIRA, "top_p", actor="there")
    back = await service.set_value(MIRA, "top_p", 0.4, actor="here")  # known says no-op; the log says absent
    assert back.changed and back.items[0].key_version == 3 and back.items[0].previous is None


async def test_two_processes_racing_on_the_same_keys_lose_nothing(
        pair: tuple[Runtime, Runtime], raw: asyncpg.Connection) -> None:
    a, b = pair
    acknowledged = []

    async def writer(rt: Runtime, name: str, n: int) -> None:
        for i in range(40):
            result = await rt.service.patch(MIRA, {"temperature": round((n * 40 + i) / 1000, 3)}, actor=name)
            acknowledged.append((result.first_revision, round((n * 40 + i) / 1000, 3)))

    await asyncio.gather(*(writer(rt, f"{rt_name}{n}", n + k) for k, (rt_name, rt) in enumerate(
        [("a", a), ("b", b)]) for n in range(0, 8, 2)))
    rows = await raw.fetch("SELECT revision, value, key_version FROM settings_events ORDER BY revision")
    assert [r["revision"] for r in rows] == list(range(1, len(rows) + 1)) and len(rows) == len(acknowledged)
    assert [r["key_version"] for r in rows] == list(range(1, len(rows) + 1))  # no version planned twice
    assert sorted(acknowledged) == [(r["revision"], json.loads(r["value"])) for r in rows]
    assert a.service.committer.one_statement > 0 and b.service.committer.one_statement > 0
    await eventually(lambda: a.service.revision == b.service.revision == len(rows))
    assert (await a.service.verify()).ok
