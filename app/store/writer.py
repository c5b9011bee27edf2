"""The change transaction: the only code that appends to the log.

lock head → read key states → check expectations → plan → append events →
update projection → record change → advance head → NOTIFY, in one transaction
(invariants 1, 2, 5 and 6 of docs/architecture.md). Writers serialise on the head row, so
revisions are gapless and follow commit order; readers never wait on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.events import (
    ChangeRequest,
    ChangeResult,
    ItemResult,
    KeyState,
    Op,
    Operation,
    PlannedEvent,
    check_expectations,
    plan_change,
)
from app.domain.scopes import Scope, ScopeType
from app.store import reader, schema
from app.store.database import Database

_LOCK_HEAD = sa.text("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE")

# The last event of each touched key: its value (if set) and version. Read from the
# log, not the projection, so a drifted projection can never corrupt new events.
# clock_timestamp() is read after the head lock, so recorded_at follows revision order.
_KEY_STATES = sa.text("""
    SELECT clock_timestamp() AS now, k.t AS scope_type, k.i AS scope_id, k.k AS key,
           e.op, e.value, e.key_version
    FROM unnest(CAST(:t AS text[]), CAST(:i AS text[]), CAST(:k AS text[])) AS k(t, i, k)
    LEFT JOIN LATERAL (
        SELECT op, value, key_version FROM settings_events
        WHERE scope_type = k.t AND scope_id = k.i AND key = k.k
        ORDER BY revision DESC LIMIT 1
    ) e ON true
""")

_SCOPE_REVISIONS = sa.text("""
    SELECT s.t AS scope_type, s.i AS scope_id, (SELECT max(revision) FROM settings_events
                      WHERE scope_type = s.t AND scope_id = s.i) AS revision
    FROM unnest(CAST(:t AS text[]), CAST(:i AS text[])) AS s(t, i)
""")

_FINISH = sa.text("""
    WITH change AS (
        INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason,
                                      source, recorded_at, reverts, rollback_to)
        VALUES (:id, :first, :last, :count, :actor, :reason, :source, :at, :reverts, :rollback_to)
    ), advance AS (
        UPDATE settings_head SET revision = :last WHERE id = 1
    )
    SELECT pg_notify(:channel, :payload)
""")


# Runs inside the change transaction, last, with the result (changed or not): whatever
# it writes commits with the change, and if it raises the change rolls back.
InTransaction = Callable[[AsyncConnection, ChangeResult], Awaitable[None]]


async def apply_change(db: Database, request: ChangeRequest,
                       ops: list[Operation], in_transaction: InTransaction | None = None) -> ChangeResult:
    """Apply already-validated ``ops`` as one change (see app/services/settings.py)."""
    async with db.write() as conn:
        head = await lock_head(conn)
        states, now = await _key_states(conn, [(op.scope, op.key) for op in ops])
        if request.expect.scope_revisions or request.expect.key_versions:
            scope_revisions = await scope_revisions_of(conn, list(request.expect.scope_revisions))
            check_expectations(request.expect, scope_revisions, states)
        planned = plan_change(ops, states)
        if not planned:
            unchanged = ChangeResult(change_id=None, first_revision=None, last_revision=None, head=head,
                                     items=_items(ops, states, [], head))
            if in_transaction is not None:
                await in_transaction(conn, unchanged)
            return unchanged
        change_id = uuid.uuid4()
        first, last = head + 1, head + len(planned)
        await _append(conn, request, change_id, planned, first, now)
        await _project(conn, request.actor, planned, first, now)
        payload = msgspec.json.encode({"first": first, "last": last, "change_id": str(change_id)}).decode()
        await conn.execute(_FINISH, {
            "id": change_id, "first": first, "last": last, "count": len(planned), "actor": request.actor,
            "reason": request.reason, "source": request.source.value, "at": now,
            "reverts": request.reverts, "rollback_to": request.rollback_to,
            "channel": schema.NOTIFY_CHANNEL, "payload": payload,
        })
        result = ChangeResult(change_id=change_id, first_revision=first, last_revision=last, head=last,
                              items=_items(ops, states, planned, first))
        if in_transaction is not None:
            await in_transaction(conn, result)
    return result


async def lock_head(conn: AsyncConnection) -> int:
    """Take the head row's lock (writers serialise here) and return the head revision."""
    revision: int = (await conn.execute(_LOCK_HEAD)).scalar_one()
    return revision


async def _key_states(conn: AsyncConnection, keys: list[tuple[Scope, str]]
                      ) -> tuple[dict[tuple[Scope, str], KeyState], datetime]:
    rows = (await conn.execute(_KEY_STATES, {
        "t": [s.type.value for s, _ in keys], "i": [s.id for s, _ in keys], "k": [k for _, k in keys],
    })).all()
    states: dict[tuple[Scope, str], KeyState] = {}
    for row in rows:
        if row.key_version is not None:
            states[(Scope(ScopeType(row.scope_type), row.scope_id), row.key)] = KeyState(
                row.op == Op.SET, row.value, row.key_version)
    return states, rows[0].now


async def scope_revisions_of(conn: AsyncConnection, scopes: list[Scope]) -> dict[Scope, int]:
    rows = await conn.execute(_SCOPE_REVISIONS, {"t": [s.type.value for s in scopes],
                                                 "i": [s.id for s in scopes]})
    return {Scope(ScopeType(r.scope_type), r.scope_id): r.revision or 0 for r in rows}


async def _append(conn: AsyncConnection, request: ChangeRequest, change_id: uuid.UUID,
                  planned: list[PlannedEvent], first: int, now: datetime) -> None:
    await conn.execute(schema.events.insert(), [
        {"revision": first + n, "change_id": change_id, "scope_type": e.scope.type.value,
         "scope_id": e.scope.id, "key": e.key, "op": e.op.value, "value": e.value,
         "previous": e.previous if e.had_previous else None, "had_previous": e.had_previous,
         "key_version": e.key_version, "actor": request.actor, "reason": request.reason,
         "source": request.source.value, "recorded_at": now}
        for n, e in enumerate(planned)
    ])


async def _project(conn: AsyncConnection, actor: str, planned: list[PlannedEvent], first: int,
                   now: datetime) -> None:
    sets = [{"scope_type": e.scope.type.value, "scope_id": e.scope.id, "key": e.key, "value": e.value,
             "key_version": e.key_version, "revision": first + n, "updated_at": now, "updated_by": actor}
            for n, e in enumerate(planned) if e.op is Op.SET]
    deletes = [e for e in planned if e.op is Op.DELETE]
    if sets:
        stmt = pg_insert(schema.current)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["scope_type", "scope_id", "key"],
            set_={c: stmt.excluded[c] for c in ("value", "key_version", "revision", "updated_at", "updated_by")},
        ), sets)
    if deletes:
        await conn.execute(sa.text("""
            DELETE FROM settings_current c
            USING unnest(CAST(:t AS text[]), CAST(:i AS text[]), CAST(:k AS text[])) AS d(t, i, k)
            WHERE c.scope_type = d.t AND c.scope_id = d.i AND c.key = d.k
        """), {"t": [e.scope.type.value for e in deletes], "i": [e.scope.id for e in deletes],
               "k": [e.key for e in deletes]})


def _items(ops: list[Operation], states: dict[tuple[Scope, str], KeyState],
           planned: list[PlannedEvent], first: int) -> list[ItemResult]:
    revisions = {(e.scope, e.key): (first + n, e) for n, e in enumerate(planned)}
    items = []
    for op in ops:
        before = states.get((op.scope, op.key))
        hit = revisions.get((op.scope, op.key))
        if hit:
            revision, event = hit
            items.append(ItemResult(scope=str(op.scope), key=op.key, op=op.op, changed=True,
                                    value=event.value, previous=event.previous,
                                    key_version=event.key_version, revision=revision))
        else:
            items.append(ItemResult(scope=str(op.scope), key=op.key, op=op.op, changed=False,
                                    value=before.value if before and before.present else None,
                                    previous=before.value if before and before.present else None,
                                    key_version=before.version if before else 0))
    return items


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
