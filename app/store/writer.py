"""The batch transaction: the only code that appends to the log.

A batch is one or more changes committed together (the group commit of
app/store/group_commit.py). Its transaction is two statements and the commit:

1. ``settings_lock_batch(...)`` (migration 0004): lock the head row, read the last
   event of every touched key and the revision of every scope an If-Match names;
2. one statement of data-modifying CTEs: append every event, record every change,
   upsert/delete the projection rows (last event per key), advance the head, and
   ``pg_notify`` the batch (app/store/notify_payload.py).

Between them the batch is planned in pure code (app/domain/batch.py): each change's
expectations, its events, its revisions — as if it committed alone. Writers
serialise on the head row, so revisions are gapless and follow commit order
(invariants 1, 2, 5 and 6 of docs/architecture.md); readers never wait on it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.batch import Planned, events_of, final_states, keys_of, plan_batch, scopes_expected
from app.domain.errors import Conflict
from app.domain.events import ChangeRequest, ChangeResult, Event, KeyState, Op, Operation
from app.domain.scopes import Scope, ScopeType
from app.store import notify_payload, reader, schema
from app.store.database import Database
from app.store.errors import unavailable_on_connection_loss

_LOCK_HEAD = sa.text("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE")

# The batch's statements are written with :named parameters and run either through
# SQLAlchemy (a unit of work of the pool) or on the group commit's own asyncpg
# connection ($1, $2, … — see numbered). Rows are read by position.
_LOCK_BATCH = ("SELECT kind, scope_type, scope_id, key, op, value, key_version, revision, at FROM "
               "settings_lock_batch(CAST(:kt AS text[]), CAST(:ki AS text[]), CAST(:kk AS text[]), "
               "CAST(:st AS text[]), CAST(:si AS text[]))")

_SCOPE_REVISIONS = sa.text("""
    SELECT s.t AS scope_type, s.i AS scope_id, (SELECT max(revision) FROM settings_events
                      WHERE scope_type = s.t AND scope_id = s.i) AS revision
    FROM unnest(CAST(:t AS text[]), CAST(:i AS text[])) AS s(t, i)
""")

# Everything the batch writes, in one statement. The document carries the rows; a
# JSON null value becomes SQL NULL (as schema._json does), `op` and `had_previous`
# keep a null value apart from a delete.
_WRITE_BATCH = """
    WITH doc AS (SELECT CAST(:doc AS jsonb) AS d),
    changes AS (
        INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason, source,
                                      recorded_at, reverts, rollback_to)
        SELECT c.id, c.first_revision, c.last_revision, c.event_count, c.actor, c.reason, c.source,
               CAST(:at AS timestamptz), c.reverts, c.rollback_to
        FROM doc, jsonb_to_recordset(doc.d->'changes') AS c(id uuid, first_revision bigint, last_revision bigint,
             event_count integer, actor text, reason text, source text, reverts uuid, rollback_to bigint)
        RETURNING id, actor, reason, source
    ), events AS (
        INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value, previous,
                                     had_previous, key_version, actor, reason, source, recorded_at)
        SELECT e.revision, e.change_id, e.scope_type, e.scope_id, e.key, e.op, e.value, e.previous,
               e.had_previous, e.key_version, c.actor, c.reason, c.source, CAST(:at AS timestamptz)
        FROM doc, jsonb_to_recordset(doc.d->'events') AS e(revision bigint, change_id uuid, scope_type text,
             scope_id text, key text, op text, value jsonb, previous jsonb, had_previous boolean,
             key_version integer)
        JOIN changes c ON c.id = e.change_id
    ), upserted AS (
        INSERT INTO settings_current (scope_type, scope_id, key, value, key_version, revision, updated_at,
                                      updated_by)
        SELECT s.scope_type, s.scope_id, s.key, s.value, s.key_version, s.revision, CAST(:at AS timestamptz),
               s.actor
        FROM doc, jsonb_to_recordset(doc.d->'sets') AS s(scope_type text, scope_id text, key text, value jsonb,
             key_version integer, revision bigint, actor text)
        ON CONFLICT (scope_type, scope_id, key) DO UPDATE SET value = excluded.value,
            key_version = excluded.key_version, revision = excluded.revision, updated_at = excluded.updated_at,
            updated_by = excluded.updated_by
    ), deleted AS (
        DELETE FROM settings_current cur
        USING doc, jsonb_to_recordset(doc.d->'deletes') AS x(scope_type text, scope_id text, key text)
        WHERE cur.scope_type = x.scope_type AND cur.scope_id = x.scope_id AND cur.key = x.key
    ), advanced AS (
        UPDATE settings_head SET revision = CAST(:head AS bigint) WHERE id = 1
    )
    SELECT pg_notify(:channel, :payload)
"""


# Runs inside the change transaction, last, with the result (changed or not): whatever
# it writes commits with the change, and if it raises the change rolls back. A change
# with one is committed in a batch of its own (see group_commit.py).
InTransaction = Callable[[AsyncConnection, ChangeResult], Awaitable[None]]


class Committed(msgspec.Struct, frozen=True):
    """What a committed batch did: each change's outcome, in queue order, and the events
    appended (revision order)."""

    outcomes: list[Planned | Conflict]
    events: list[Event]
    first: int  # the batch's first revision (meaningless when no events)
    last: int


Query = Callable[[str, dict[str, Any]], Awaitable[Sequence[Sequence[Any]]]]
# Told, under the head lock, what the log said before the batch: (head, every key the
# batch touches, the states of those that have events, the scope revisions read).
Seen = Callable[[int, list[tuple[Scope, str]], dict[tuple[Scope, str], KeyState], dict[Scope, int]], None]


async def commit_batch(db: Database, batch: list[tuple[ChangeRequest, list[Operation]]],
                       in_transaction: InTransaction | None = None) -> Committed:
    """Commit ``batch`` (already-validated ops) in one transaction of the pool. A change
    whose expectations fail is returned as its Conflict and writes nothing; a database
    error raises, and then nothing of the batch was written."""
    if in_transaction is not None and len(batch) != 1:
        raise ValueError("a change with an in_transaction step commits alone")
    async with db.write() as conn:
        async def query(sql: str, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
            return (await conn.execute(sa.text(sql), params)).all()

        committed = await _batch(query, batch)
        if in_transaction is not None:
            outcome = committed.outcomes[0]
            if isinstance(outcome, Conflict):
                raise outcome
            await in_transaction(conn, outcome.result)
    return committed


async def commit_batch_on(conn: asyncpg.Connection, batch: list[tuple[ChangeRequest, list[Operation]]],
                          seen: Seen | None = None) -> Committed:
    """:func:`commit_batch` on a connection of its own (the group commit's): no pool
    checkout, no liveness ping, no SQLAlchemy layer — fewer round trips and awaits
    per batch. The connection needs :func:`prepare_connection`. ``seen`` is told
    what the batch read under the lock (the head, the key states, the scope
    revisions) before it writes (app/store/known_state.py)."""
    async def query(sql: str, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        text, names = numbered(sql)
        rows: list[asyncpg.Record] = await conn.fetch(text, *(params[n] for n in names))
        return rows

    async with unavailable_on_connection_loss(), conn.transaction():
        return await _batch(query, batch, seen)


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """JSON values in and out as the pool's connections have them (engine.py)."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=msgspec.json.decode)


@cache
def numbered(sql: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):(\w+)", number, sql), names


async def _batch(query: Query, batch: list[tuple[ChangeRequest, list[Operation]]],
                 seen: Seen | None = None) -> Committed:
    head, at, states, scope_revisions = await _lock_and_read(query, batch)
    if seen is not None:
        seen(head, keys_of(batch), states, scope_revisions)
    outcomes = plan_batch(batch, head, states, scope_revisions)
    events = [e for o in outcomes if isinstance(o, Planned) and o.events for e in events_of(o, at)]
    if events:
        await _write(query, outcomes, events, at)
    return Committed(outcomes=outcomes, events=events, first=head + 1, last=head + len(events))


async def apply_change(db: Database, request: ChangeRequest, ops: list[Operation],
                       in_transaction: InTransaction | None = None) -> ChangeResult:
    """One change in a transaction of its own, without the group commit or the read
    model (benches and tools; the service goes through SettingsService.apply)."""
    outcome = (await commit_batch(db, [(request, ops)], in_transaction)).outcomes[0]
    if isinstance(outcome, Conflict):
        raise outcome
    return outcome.result


async def _lock_and_read(query: Query, batch: list[tuple[ChangeRequest, list[Operation]]]
                         ) -> tuple[int, datetime, dict[tuple[Scope, str], KeyState], dict[Scope, int]]:
    keys, scopes = keys_of(batch), scopes_expected(batch)
    rows = await query(_LOCK_BATCH, {
        "kt": [s.type.value for s, _ in keys], "ki": [s.id for s, _ in keys], "kk": [k for _, k in keys],
        "st": [s.type.value for s in scopes], "si": [s.id for s in scopes],
    })
    head, at = rows[0][7], rows[0][8]
    states: dict[tuple[Scope, str], KeyState] = {}
    scope_revisions: dict[Scope, int] = {}
    for kind, scope_type, scope_id, key, op, value, version, revision, _ in rows[1:]:
        scope = Scope(ScopeType(scope_type), scope_id)
        if kind == "key":
            states[(scope, key)] = KeyState(op == Op.SET, value, version)
        else:
            scope_revisions[scope] = revision
    return head, at, states, scope_revisions


async def _write(query: Query, outcomes: list[Planned | Conflict], events: list[Event],
                 at: datetime) -> None:
    first, head = events[0].revision, events[-1].revision
    await query(_WRITE_BATCH, {"doc": document(outcomes, events), "at": at, "head": head,
                               "channel": schema.NOTIFY_CHANNEL,
                               "payload": notify_payload.encode(first, head, at, events)})


def document(outcomes: list[Planned | Conflict], events: list[Event]) -> str:
    """The rows a batch writes, as the one JSON document its write statement reads."""
    changes = [{"id": o.result.change_id, "first_revision": o.result.first_revision,
                "last_revision": o.result.last_revision, "event_count": len(o.events),
                "actor": o.request.actor, "reason": o.request.reason, "source": o.request.source.value,
                "reverts": o.request.reverts, "rollback_to": o.request.rollback_to}
               for o in outcomes if isinstance(o, Planned) and o.events]
    # Enum members as they are: msgspec writes a StrEnum as its value.
    rows = [{"revision": e.revision, "change_id": e.change_id, "scope_type": e.scope.type, "scope_id": e.scope.id,
             "key": e.key, "op": e.op, "value": e.value, "previous": e.previous if e.had_previous else None,
             "had_previous": e.had_previous, "key_version": e.key_version} for e in events]
    last = final_states(events).values()
    sets = [{"scope_type": e.scope.type, "scope_id": e.scope.id, "key": e.key, "value": e.value,
             "key_version": e.key_version, "revision": e.revision, "actor": e.actor}
            for e in last if e.op is Op.SET]
    deletes = [{"scope_type": e.scope.type, "scope_id": e.scope.id, "key": e.key}
               for e in last if e.op is Op.DELETE]
    return msgspec.json.encode({"changes": changes, "events": rows, "sets": sets, "deletes": deletes}).decode()


async def lock_head(conn: AsyncConnection) -> int:
    """Take the head row's lock (writers serialise here) and return the head revision."""
    revision: int = (await conn.execute(_LOCK_HEAD)).scalar_one()
    return revision


async def scope_revisions_of(conn: AsyncConnection, scopes: list[Scope]) -> dict[Scope, int]:
    rows = await conn.execute(_SCOPE_REVISIONS, {"t": [s.type.value for s in scopes],
                                                 "i": [s.id for s in scopes]})
    return {Scope(ScopeType(r.scope_type), r.scope_id): r.revision or 0 for r in rows}


async def rebuild(conn: AsyncConnection) -> int:
    """Replace the projection with a replay of the log; returns the keys written.

    Takes the head lock so no change commits half-way through the rebuild.
    """
    await lock_head(conn)
    await conn.execute(sa.text("DELETE FROM settings_current"))
    result = await conn.execute(sa.text(f"""
        INSERT INTO settings_current (scope_type, scope_id, key, value, key_version, revision,
                                      updated_at, updated_by)
        SELECT scope_type, scope_id, key, value, key_version, revision, recorded_at, actor
        FROM ({reader.REPLAY}) r WHERE op = 'set'
    """))
    return result.rowcount
