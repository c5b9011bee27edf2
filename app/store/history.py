"""History reads: filtered event pages, changes, past states, snapshots.

Pages are newest first with a keyset cursor on revision: revisions only grow, so a
write that commits while someone pages lands above the first page and never
shifts, skips or repeats what is below the cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.audit import ChangeInfo, EventFilter
from app.domain.events import Event
from app.domain.history import State, copy_state, replay, state_from_json, state_to_json, unreplay
from app.domain.scopes import Scope, ScopeType
from app.domain.upcast import names_of, upcast_state, upcast_values
from app.store import reader, schema
from app.store.reader import event_from_row

_CHUNK = 20_000  # events read per round trip when replaying


def _who_and_when(query: sa.Select[Any], table: sa.Table, f: EventFilter) -> sa.Select[Any]:
    """The filters events and changes share: actor, source and time range."""
    t = table.c
    if f.actor is not None:
        query = query.where(t.actor == f.actor)
    if f.source is not None:
        query = query.where(t.source == f.source)
    if f.since is not None:
        query = query.where(t.recorded_at >= f.since)
    if f.until is not None:
        query = query.where(t.recorded_at <= f.until)
    return query


async def events_page(conn: AsyncConnection, f: EventFilter, limit: int, below: int | None) -> list[Event]:
    e = schema.events.c
    query = sa.select(schema.events).order_by(e.revision.desc()).limit(limit)
    if below is not None:
        query = query.where(e.revision < below)
    if f.scope is not None:
        query = query.where(e.scope_type == f.scope.type.value, e.scope_id == f.scope.id)
    if f.key is not None:
        query = query.where(e.key.in_(names_of(f.key)))
    if f.change_id is not None:
        query = query.where(e.change_id == f.change_id)
    return [event_from_row(r) for r in await conn.execute(_who_and_when(query, schema.events, f))]


def _change(row: Any) -> ChangeInfo:
    return ChangeInfo(**row._mapping)


async def changes_page(conn: AsyncConnection, f: EventFilter, limit: int, below: int | None) -> list[ChangeInfo]:
    c = schema.changes.c
    query = sa.select(schema.changes).order_by(c.first_revision.desc()).limit(limit)
    if below is not None:
        query = query.where(c.first_revision < below)
    query = _who_and_when(query, schema.changes, f)
    if f.scope is not None or f.key is not None:
        e = schema.events.c
        touches = sa.select(e.revision).where(e.change_id == c.id)
        if f.scope is not None:
            touches = touches.where(e.scope_type == f.scope.type.value, e.scope_id == f.scope.id)
        if f.key is not None:
            touches = touches.where(e.key.in_(names_of(f.key)))
        query = query.where(touches.exists())
    return [_change(r) for r in await conn.execute(query)]


async def change(conn: AsyncConnection, change_id: UUID) -> ChangeInfo | None:
    row = (await conn.execute(sa.select(schema.changes).where(schema.changes.c.id == change_id))).first()
    return _change(row) if row else None


async def change_events(conn: AsyncConnection, info: ChangeInfo) -> list[Event]:
    e = schema.events.c
    rows = await conn.execute(sa.select(schema.events).where(
        e.revision.between(info.first_revision, info.last_revision)).order_by(e.revision))
    return [event_from_row(r) for r in rows]


async def touched_after(conn: AsyncConnection, keys: list[tuple[Scope, str]], after: int
                        ) -> dict[tuple[Scope, str], int]:
    """For each (scope, key) with an event after ``after``: its last revision."""
    rows = await conn.execute(sa.text("""
        SELECT k.t AS scope_type, k.i AS scope_id, k.k AS key,
               (SELECT max(revision) FROM settings_events
                WHERE scope_type = k.t AND scope_id = k.i AND key = k.k AND revision > :after) AS revision
        FROM unnest(CAST(:t AS text[]), CAST(:i AS text[]), CAST(:k AS text[])) AS k(t, i, k)
    """), {"t": [s.type.value for s, _ in keys], "i": [s.id for s, _ in keys], "k": [k for _, k in keys],
           "after": after})
    return {(Scope(ScopeType(r.scope_type), r.scope_id), r.key): r.revision for r in rows if r.revision}


async def revision_at(conn: AsyncConnection, at: datetime) -> int | None:
    """The last revision committed at or before ``at``; None if nothing was committed by then.
    recorded_at grows with revision (it is read under the head lock), so the newest
    change at or before ``at`` holds it."""
    c = schema.changes.c
    return await conn.scalar(sa.select(c.last_revision).where(c.recorded_at <= at)
                             .order_by(c.recorded_at.desc(), c.last_revision.desc()).limit(1))


async def first_event_time(conn: AsyncConnection) -> datetime | None:
    at: datetime | None = await conn.scalar(sa.text("SELECT recorded_at FROM settings_events WHERE revision = 1"))
    return at


async def revision_time(conn: AsyncConnection, revision: int) -> datetime | None:
    at: datetime | None = await conn.scalar(sa.text("SELECT recorded_at FROM settings_events WHERE revision = :r"),
                                            {"r": revision})
    return at


# One scope at a revision: a skip scan over the (scope, key, revision) index finds the
# scope's keys, then each key's last event at or before the revision. The cost grows
# with the keys in the scope and the depth of the index, not with the log's length.
_SCOPE_AT = sa.text("""
    WITH RECURSIVE keys(k) AS (
        SELECT min(key) FROM settings_events WHERE scope_type = :t AND scope_id = :i
        UNION ALL
        SELECT (SELECT min(key) FROM settings_events WHERE scope_type = :t AND scope_id = :i AND key > keys.k)
        FROM keys WHERE keys.k IS NOT NULL
    )
    SELECT keys.k AS key, e.value
    FROM keys JOIN LATERAL (
        SELECT op, value FROM settings_events
        WHERE scope_type = :t AND scope_id = :i AND key = keys.k AND revision <= :rev
        ORDER BY revision DESC LIMIT 1
    ) e ON e.op = 'set'
    WHERE keys.k IS NOT NULL
""")


async def scope_state_at(conn: AsyncConnection, scope: Scope, revision: int) -> dict[str, Any]:
    rows = await conn.execute(_SCOPE_AT, {"t": scope.type.value, "i": scope.id, "rev": revision})
    return upcast_values({r.key: r.value for r in rows})


async def whole_state_at(conn: AsyncConnection, revision: int, head: int, *, use_projection: bool = True) -> State:
    """Every scope's stored values at ``revision`` (≤ head), read in the caller's snapshot.

    Starts from whichever is nearer: the last snapshot at or before ``revision``
    (replaying forward), or the projection at the head (undoing backward, each event
    records what it replaced). ``use_projection=False`` trusts only the log.
    """
    snap_rev, snap = await latest_snapshot(conn, revision)
    if use_projection and head - revision < revision - snap_rev:
        state = await reader.current_state(conn)
        for upto in range(head, revision, -_CHUNK):
            unreplay(state, await reader.events_between(conn, max(revision, upto - _CHUNK), upto, newest_first=True))
        return state
    state = copy_state(snap)
    for after in range(snap_rev, revision, _CHUNK):
        replay(state, await reader.events_between(conn, after, min(revision, after + _CHUNK)))
    return state


async def latest_snapshot(conn: AsyncConnection, at_most: int | None = None) -> tuple[int, State]:
    """The newest snapshot at or before ``at_most`` (revision 0 and an empty state if none)."""
    s = schema.snapshots.c
    query = sa.select(s.revision, s.state).order_by(s.revision.desc()).limit(1)
    if at_most is not None:
        query = query.where(s.revision <= at_most)
    row = (await conn.execute(query)).first()
    return (row.revision, upcast_state(state_from_json(row.state))) if row else (0, {})


async def last_snapshot_revision(conn: AsyncConnection) -> int:
    return await conn.scalar(sa.text("SELECT coalesce(max(revision), 0) FROM settings_snapshots")) or 0


async def try_snapshot_lock(conn: AsyncConnection) -> bool:
    """One snapshot writer at a time across processes (released at commit)."""
    return bool(await conn.scalar(sa.text("SELECT pg_try_advisory_xact_lock(hashtext('botsettings.snapshot'))")))


async def write_snapshot(conn: AsyncConnection, revision: int, state: State) -> None:
    await conn.execute(sa.text(
        "INSERT INTO settings_snapshots (revision, state, created_at) "
        "VALUES (:r, CAST(:s AS jsonb), clock_timestamp()) ON CONFLICT (revision) DO NOTHING"),
        {"r": revision, "s": _json(state_to_json(state))})


def _json(doc: Any) -> str:
    return msgspec.json.encode(doc).decode()
