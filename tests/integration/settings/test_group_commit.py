"""Group commit (app/store/group_commit.py) against a real PostgreSQL: concurrent
changes share a transaction, and each still keeps its own revisions and outcome."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import sqlalchemy as sa

from app.config import Config
from app.domain import scopes
from app.domain.errors import Conflict, Unavailable, ValidationFailed
from app.domain.events import ChangeResult
from app.runtime import Runtime
from app.services import SettingsService
from app.store.database import Database
from app.store.engine import asyncpg_dsn

BOTS = [scopes.bot(f"gc{n}") for n in range(4)]
KEYS = ["system_prompt", "description"]


@pytest.fixture
async def rt(config: Config) -> AsyncIterator[Runtime]:
    runtime = await Runtime.start(config, migrate=False, listen=True)
    yield runtime
    await runtime.close()


async def log_rows(raw: asyncpg.Connection) -> list[asyncpg.Record]:
    return await raw.fetch("SELECT revision, change_id, scope_id, key, value FROM settings_events ORDER BY revision")


async def test_32_concurrent_writers_with_and_without_if_match(rt: Runtime, raw: asyncpg.Connection) -> None:
    service = rt.service
    acknowledged: list[tuple[dict[str, str], ChangeResult]] = []
    conflicted: list[str] = []

    async def writer(n: int) -> None:
        rng = random.Random(n)
        for i in range(12):
            scope, key = rng.choice(BOTS), rng.choice(KEYS)
            value = f"w{n}-{i}"
            if n % 2:  # If-Match on the key's version, read a moment ago: other writers race it
                version = (await service.key_view(scope, key)).key_version
                try:
                    result = await service.set_value(scope, key, value, actor=f"w{n}", expect_version=version)
                except Conflict:
                    conflicted.append(value)
                    continue
            else:
                result = await service.patch(scope, {key: value}, actor=f"w{n}")
            acknowledged.append(({"scope": scope.id, "key": key, "value": value}, result))

    batches_before = service.committer.batches
    await asyncio.gather(*(writer(n) for n in range(32)))
    rows = await log_rows(raw)
    by_revision = {r["revision"]: r for r in rows}
    # No gaps: revisions 1..head, one event each, and the head says so.
    assert [r["revision"] for r in rows] == list(range(1, len(rows) + 1))
    assert await raw.fetchval("SELECT revision FROM settings_head") == len(rows)
    # Every acknowledged write is in the log exactly once, at the revision it was told.
    assert len(acknowledged) == len(rows)
    for wanted, result in acknowledged:
        assert result.first_revision == result.last_revision and result.first_revision is not None
        row = by_revision[result.first_revision]
        assert (row["change_id"], row["scope_id"], row["key"], json.loads(row["value"])) == (
            result.change_id, wanted["scope"], wanted["key"], wanted["value"])
    assert len({r["change_id"] for r in rows}) == len(rows)
    # Every 409 wrote nothing: its value never reached the log.
    assert conflicted, "no If-Match writer ever lost a race: the test proves nothing"
    written = {json.loads(r["value"]) for r in rows}
    assert not written & set(conflicted)
    assert (await service.verify()).ok
    # The changes were coalesced: fewer transactions than changes.
    batches = service.committer.batches - batches_before
    assert batches < len(acknowledged) + len(conflicted)
    # This process's read model holds every acknowledged write (applied from memory).
    assert rt.service.revision == len(rows)
    for scope in BOTS:
        stored = dict(rt.service.stored(scope))
        latest = {r["key"]: json.loads(r["value"]) for r in rows if r["scope_id"] == scope.id}
        assert stored == latest


class HeadHeld:
    """Another connection holding the head row's lock, so changes pile up behind it."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def __aenter__(self) -> HeadHeld:
        self.conn = await asyncpg.connect(self.dsn)
        self.tx = self.conn.transaction()
        await self.tx.start()
        await self.conn.execute("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.tx.rollback()
        await self.conn.close()


async def writers_waiting(raw: asyncpg.Connection, n: int = 1) -> list[int]:
    """The backends waiting for the head lock, once there are ``n``."""
    for _ in range(250):
        pids = [r["pid"] for r in await raw.fetch(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")]
        if len(pids) >= n:
            return pids
        await asyncio.sleep(0.02)
    raise AssertionError("no writer is waiting for the head lock")


async def test_a_conflicting_and_an_invalid_change_are_answered_alone(
        service: SettingsService, raw: asyncpg.Connection, db_url: str) -> None:
    await service.set_value(BOTS[0], "temperature", 0.5, actor="t")  # revision 1, version 1
    before = service.committer.batches
    async with HeadHeld(asyncpg_dsn(db_url)):
        calls = [
            service.patch(BOTS[0], {"top_p": 0.5}, actor="a"),
            service.set_value(BOTS[0], "temperature", 0.7, actor="stale", expect_version=0),  # 409
            service.patch(BOTS[1], {"temperature": 9}, actor="invalid"),  # 422, never queued
            # Each change sees the state the ones before it in the batch leave: "a" moved
            # the scope to revision 2, as if it had committed alone first.
            service.patch(BOTS[0], {"temperature": 0.6}, actor="b", expect_revision=2),
            service.set_value(BOTS[2], "temperature", 0.4, actor="c", expect_version=0),
        ]
        # Started together, they queue before the committer runs: one batch.
        pending = asyncio.gather(*calls, return_exceptions=True)
        await writers_waiting(raw)
        assert not pending.done()
    a, stale, invalid, b, c = await pending
    assert service.committer.batches - before == 1
    assert isinstance(stale, Conflict) and stale.errors[0].code == "version_mismatch"
    assert isinstance(invalid, ValidationFailed)
    assert isinstance(a, ChangeResult) and isinstance(b, ChangeResult) and isinstance(c, ChangeResult)
    # The others committed in queue order, with contiguous revisions and their own ids.
    assert [(r.first_revision, r.last_revision) for r in (a, b, c)] == [(2, 2), (3, 3), (4, 4)]
    rows = await raw.fetch("SELECT revision, actor, key, value FROM settings_events ORDER BY revision")
    assert [(r["revision"], r["actor"], r["key"], json.loads(r["value"])) for r in rows] == [
        (1, "t", "temperature", 0.5), (2, "a", "top_p", 0.5), (3, "b", "temperature", 0.6),
        (4, "c", "temperature", 0.4)]
    changes = await raw.fetch("SELECT id, first_revision, actor FROM settings_changes ORDER BY first_revision")
    assert [(r["id"], r["first_revision"], r["actor"]) for r in changes][1:] == [
        (a.change_id, 2, "a"), (b.change_id, 3, "b"), (c.change_id, 4, "c")]
    assert (await service.verify()).ok


async def test_a_killed_writer_fails_every_change_of_its_batch_and_leaves_nothing(
        service: SettingsService, raw: asyncpg.Connection, db_url: str) -> None:
    await service.set_value(BOTS[0], "temperature", 0.5, actor="t")
    async with HeadHeld(asyncpg_dsn(db_url)):
        pending = asyncio.gather(*(service.patch(BOTS[n], {"top_p": 0.1 * (n + 1)}, actor=f"k{n}")
                                   for n in range(3)), return_exceptions=True)
        [pid] = await writers_waiting(raw)
        assert await raw.fetchval("SELECT pg_terminate_backend($1)", pid)
        outcomes = await pending
    assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 1
    assert await raw.fetchval("SELECT count(*) FROM settings_changes") == 1
    assert await raw.fetchval("SELECT revision FROM settings_head") == 1
    assert (await service.verify()).ok
    # The next change takes revision 2: the failed batch left no gap.
    assert (await service.set_value(BOTS[1], "top_p", 0.3, actor="t")).first_revision == 2


async def test_a_statement_timeout_fails_every_change_of_its_batch(
        raw: asyncpg.Connection, db_url: str) -> None:
    name = sa.make_url(db_url).database
    await raw.execute(f"ALTER DATABASE \"{name}\" SET statement_timeout = '300ms'")
    db = Database(db_url)  # a fresh pool: its connections start with the timeout
    service = SettingsService(db)
    try:
        async with HeadHeld(asyncpg_dsn(db_url)):
            outcomes = await asyncio.gather(*(service.patch(BOTS[n], {"top_p": 0.5}, actor=f"s{n}")
                                              for n in range(4)), return_exceptions=True)
        assert all(isinstance(o, Unavailable) for o in outcomes), outcomes
        assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0
        assert await raw.fetchval("SELECT revision FROM settings_head") == 0
        assert (await service.patch(BOTS[0], {"top_p": 0.5}, actor="after")).first_revision == 1
    finally:
        await db.dispose()


async def test_a_scheduled_change_claim_commits_exactly_once_amid_batches(
        rt: Runtime, config: Config, raw: asyncpg.Connection) -> None:
    other = await Runtime.start(config, migrate=False, listen=True)
    try:
        for round_ in range(4):
            change = await rt.jobs.schedule_change(BOTS[0], {"memory_n_results": round_ + 1},
                                                   apply_at=datetime.now(UTC) + timedelta(seconds=0.05),
                                                   reason=f"round {round_}", actor="t")
            await asyncio.sleep(0.06)
            due = await rt.jobs.scheduled_change(change.id)
            noise = [r.service.patch(BOTS[1 + n % 3], {"description": f"r{round_} n{n}"}, actor="noise")
                     for n, r in enumerate((rt, other) * 4)]
            claims = [r.jobs.apply_scheduled(due, f"applier-{n}") for n, r in enumerate((rt, other, rt, other))]
            outcomes = await asyncio.gather(*claims, *noise)
            assert sorted(outcomes[:4]) == [False, False, False, True]
            done = await rt.jobs.scheduled_change(change.id)
            assert done.status == "applied" and done.change_id is not None
            events = await raw.fetch("SELECT revision, source FROM settings_events WHERE change_id = $1",
                                     done.change_id)
            assert [(e["revision"], e["source"]) for e in events] == [(done.first_revision, "scheduler")]
        assert await raw.fetchval("SELECT count(*) FROM settings_changes WHERE source = 'scheduler'") == 4
        assert (await rt.service.verify()).ok
    finally:
        await other.close()
