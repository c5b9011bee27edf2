"""Reads of the current state, the head, the log after a revision; verify (a replay of
the log compared with the projection)."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.events import AppliedChange, Event, Op, Source
from app.domain.records import Drift, StoredValue, VerifyReport
from app.domain.registry import UNSET, upcast
from app.domain.scopes import Scope, ScopeType
from app.domain.upcast import current_name, names_of, upcast_event, upcast_state
from app.store import schema


async def head(conn: AsyncConnection) -> int:
    revision: int = (await conn.execute(sa.text("SELECT revision FROM settings_head WHERE id = 1"))).scalar_one()
    return revision


async def scope_revision(conn: AsyncConnection, scope: Scope) -> int:
    """The revision of the scope's last event, 0 if it has none (the scope's ETag)."""
    value = await conn.scalar(sa.text(
        "SELECT max(revision) FROM settings_events WHERE scope_type = :t AND scope_id = :i"),
        {"t": scope.type.value, "i": scope.id})
    return value or 0


async def scope_values(conn: AsyncConnection, scope: Scope) -> list[StoredValue]:
    c = schema.current.c
    rows = await conn.execute(
        sa.select(c.key, c.value, c.key_version, c.revision, c.updated_at, c.updated_by)
        .where(c.scope_type == scope.type.value, c.scope_id == scope.id).order_by(c.key))
    return upcast_stored([StoredValue(**r._mapping) for r in rows])


def upcast_stored(values: list[StoredValue]) -> list[StoredValue]:
    """Stored values under the registry's current names (app/domain/upcast.py)."""
    current = {v.key for v in values if current_name(v.key) == v.key}
    out: list[StoredValue] = []
    for v in values:
        key, value = upcast(v.key, v.value)
        if key == v.key:
            out.append(v)
        elif value is not UNSET and key not in current:
            out.append(msgspec.structs.replace(v, key=key, value=value))
    return sorted(out, key=lambda v: v.key)


async def stored_value(conn: AsyncConnection, scope: Scope, key: str) -> StoredValue | None:
    c = schema.current.c
    rows = await conn.execute(
        sa.select(c.key, c.value, c.key_version, c.revision, c.updated_at, c.updated_by)
        .where(c.scope_type == scope.type.value, c.scope_id == scope.id, c.key.in_(names_of(key))))
    found = [v for v in upcast_stored([StoredValue(**r._mapping) for r in rows]) if v.key == key]
    return found[0] if found else None


async def key_version(conn: AsyncConnection, scope: Scope, key: str) -> int:
    value = await conn.scalar(sa.text(
        "SELECT key_version FROM settings_events WHERE scope_type = :t AND scope_id = :i AND key = :k "
        "ORDER BY revision DESC LIMIT 1"), {"t": scope.type.value, "i": scope.id, "k": key})
    return value or 0


async def all_current(conn: AsyncConnection, *, as_written: bool = False) -> tuple[int, dict[Scope, dict[str, Any]]]:
    """The whole projection and the head it belongs to (call in a snapshot unit of work)."""
    at = await head(conn)
    return at, await current_state(conn, as_written=as_written)


async def current_state(conn: AsyncConnection, *, as_written: bool = False) -> dict[Scope, dict[str, Any]]:
    """The projection (which equals a replay of the log to the head: invariant 4), read
    in the caller's transaction; under the current key names unless ``as_written``."""
    state: dict[Scope, dict[str, Any]] = {}
    c = schema.current.c
    for row in await conn.execute(sa.select(c.scope_type, c.scope_id, c.key, c.value)):
        state.setdefault(Scope(ScopeType(row.scope_type), row.scope_id), {})[row.key] = row.value
    return state if as_written else upcast_state(state)


async def bots_first_seen(conn: AsyncConnection) -> tuple[float | None, dict[str, float]]:
    """When the log began, and when each bot's first event was recorded (epoch seconds)."""
    began = await conn.scalar(sa.text(
        "SELECT extract(epoch FROM recorded_at) FROM settings_events ORDER BY revision LIMIT 1"))
    rows = await conn.execute(sa.text(
        "SELECT DISTINCT ON (scope_id) scope_id, extract(epoch FROM recorded_at) AS at FROM settings_events "
        "WHERE scope_type = :t ORDER BY scope_id, revision"), {"t": ScopeType.BOT.value})
    return (float(began) if began is not None else None), {r.scope_id: float(r.at) for r in rows}


def event_from_row(row: Any) -> Event:
    """An event of the log, under the registry's current names (app/domain/upcast.py)."""
    return upcast_event(Event(revision=row.revision, change_id=row.change_id,
                 scope=Scope(ScopeType(row.scope_type), row.scope_id), key=row.key, op=Op(row.op),
                 value=row.value, previous=row.previous, had_previous=row.had_previous,
                 key_version=row.key_version, actor=row.actor, reason=row.reason,
                 source=Source(row.source), recorded_at=row.recorded_at))


async def events_after(conn: AsyncConnection, revision: int, limit: int = 10_000) -> list[Event]:
    e = schema.events.c
    rows = await conn.execute(sa.select(schema.events).where(e.revision > revision)
                              .order_by(e.revision).limit(limit))
    return [event_from_row(r) for r in rows]


async def events_between(conn: AsyncConnection, after: int, upto: int, *,
                         newest_first: bool = False) -> list[Event]:
    e = schema.events.c
    order = e.revision.desc() if newest_first else e.revision
    rows = await conn.execute(sa.select(schema.events).where(e.revision > after, e.revision <= upto)
                              .order_by(order))
    return [event_from_row(r) for r in rows]


async def changes_between(conn: AsyncConnection, after: int, upto: int, limit: int) -> list[AppliedChange]:
    """Changes whose events lie in (after, upto], oldest first, with scopes and keys."""
    rows = await conn.execute(sa.text("""
        SELECT c.id, c.first_revision, c.last_revision,
               array_agg(DISTINCT CASE WHEN e.scope_type = 'global' THEN 'global'
                                       ELSE 'bots/' || e.scope_id END) AS scopes,
               array_agg(DISTINCT e.key) AS keys
        FROM settings_changes c JOIN settings_events e ON e.change_id = c.id
        WHERE c.first_revision > :after AND c.last_revision <= :upto
        GROUP BY c.id ORDER BY c.first_revision LIMIT :limit
    """), {"after": after, "upto": upto, "limit": limit})
    return [AppliedChange(change_id=r.id, first_revision=r.first_revision, last_revision=r.last_revision,
                          scopes=sorted(r.scopes), keys=sorted(r.keys)) for r in rows]


# Replaying the log is "last event per key wins", which DISTINCT ON computes in one
# pass over the (scope, key, revision) index; present keys are those whose last op is set.
REPLAY = """
    SELECT DISTINCT ON (scope_type, scope_id, key)
           scope_type, scope_id, key, op, value, key_version, revision, recorded_at, actor
    FROM settings_events
    ORDER BY scope_type, scope_id, key, revision DESC
"""


async def verify(conn: AsyncConnection) -> VerifyReport:
    """Compare the projection with a replay of the log, and check the log itself (call
    in a snapshot unit of work: every count and the replay must see one state)."""
    at = await head(conn)
    stats = (await conn.execute(sa.text(
        "SELECT count(*) AS n, coalesce(min(revision), 0) AS lo, coalesce(max(revision), 0) AS hi "
        "FROM settings_events"))).one()
    problems = []
    if stats.hi != at:
        problems.append(f"head is {at} but the last event is revision {stats.hi}")
    if stats.n != stats.hi or (stats.n and stats.lo != 1):
        problems.append(f"revisions have gaps: {stats.n} events span {stats.lo}..{stats.hi}")
    change_events = await conn.scalar(sa.text("SELECT coalesce(sum(event_count), 0) FROM settings_changes"))
    if change_events != stats.n:
        problems.append(f"changes account for {change_events} events, the log holds {stats.n}")
    rows = await conn.execute(sa.text(f"""
        WITH replay AS ({REPLAY})
        SELECT coalesce(r.scope_type, c.scope_type) AS scope_type,
               coalesce(r.scope_id, c.scope_id) AS scope_id, coalesce(r.key, c.key) AS key,
               r.op, r.value AS r_value, r.key_version AS r_version, r.revision AS r_revision,
               c.value AS c_value, c.key_version AS c_version, c.revision AS c_revision,
               c.key IS NOT NULL AS in_projection
        FROM (SELECT * FROM replay WHERE op = 'set') r
        FULL OUTER JOIN settings_current c
          ON c.scope_type = r.scope_type AND c.scope_id = r.scope_id AND c.key = r.key
        WHERE r.key IS NULL OR c.key IS NULL OR r.value IS DISTINCT FROM c.value
           OR r.key_version <> c.key_version OR r.revision <> c.revision
        ORDER BY 1, 2, 3
    """))
    drift = []
    for r in rows:
        scope = str(Scope(ScopeType(r.scope_type), r.scope_id))
        if r.r_version is None:
            drift.append(Drift(scope=scope, key=r.key, problem="unexpected", projection=r.c_value))
        elif not r.in_projection:
            drift.append(Drift(scope=scope, key=r.key, problem="missing", replay=r.r_value))
        elif r.r_value != r.c_value:
            drift.append(Drift(scope=scope, key=r.key, problem="value", projection=r.c_value, replay=r.r_value))
        elif r.r_version != r.c_version:
            drift.append(Drift(scope=scope, key=r.key, problem="version", projection=r.c_version,
                               replay=r.r_version))
        else:
            drift.append(Drift(scope=scope, key=r.key, problem="revision", projection=r.c_revision,
                               replay=r.r_revision))
    keys = await conn.scalar(sa.text("SELECT count(*) FROM settings_current"))
    return VerifyReport(ok=not drift and not problems, head=at, events=stats.n, keys=keys,
                        drift=drift, log_problems=problems)
