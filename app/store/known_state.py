"""What the group commit knows of the log, and the batch it can then write in ONE
statement (one round trip, its own implicit transaction) instead of four (BEGIN,
lock and read, write, COMMIT — app/store/writer.py).

After each batch it commits, the writer knows the head revision and, for every key
the batch read or wrote, that key's last event; and for every scope, its revision.
While nobody else writes, that is exactly what ``settings_lock_batch`` would read
under the lock. So the next batch whose keys are all known is planned from memory
(the same pure planning, app/domain/batch.py) and written by one statement that
first advances the head *only if it is still the head the plan assumed*: the
``UPDATE … WHERE revision = expected`` takes the head lock (waiting for a writer in
flight, then re-checking the row it committed), every other write of the statement
is joined to that update's row, and the database stamps ``recorded_at`` after the
lock, as the function does. If the head moved (another process, the platform's
triggers), the statement writes nothing and the batch is planned again the long
way, under the lock. The invariants of docs/architecture.md hold either way: the
plan of a batch is what it would have been under the lock, and the check proves it.

The knowledge is forgotten whenever a batch's outcome is unknown (an error, a
cancellation, a new connection), and is bounded in size.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from app.domain.batch import Planned, events_of, keys_of, plan_batch, scopes_expected
from app.domain.events import ABSENT, ChangeRequest, KeyState, Op, Operation
from app.domain.scopes import Scope
from app.store import notify_payload, schema, writer
from app.store.errors import unavailable_on_connection_loss

# Past this many keys the knowledge starts over (keys written since are known again).
MAX_KNOWN_KEYS = 50_000

_WRITE_IF_HEAD = """
    WITH advanced AS (
        UPDATE settings_head SET revision = CAST(:head AS bigint)
        WHERE id = 1 AND revision = CAST(:expected AS bigint)
        RETURNING clock_timestamp() AS at
    ), doc AS (SELECT CAST(:doc AS jsonb) AS d),
    changes AS (
        INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason, source,
                                      recorded_at, reverts, rollback_to)
        SELECT c.id, c.first_revision, c.last_revision, c.event_count, c.actor, c.reason, c.source,
               advanced.at, c.reverts, c.rollback_to
        FROM advanced, doc, jsonb_to_recordset(doc.d->'changes') AS c(id uuid, first_revision bigint,
             last_revision bigint, event_count integer, actor text, reason text, source text, reverts uuid,
             rollback_to bigint)
        RETURNING id, actor, reason, source, recorded_at
    ), events AS (
        INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value, previous,
                                     had_previous, key_version, actor, reason, source, recorded_at)
        SELECT e.revision, e.change_id, e.scope_type, e.scope_id, e.key, e.op, e.value, e.previous,
               e.had_previous, e.key_version, c.actor, c.reason, c.source, c.recorded_at
        FROM doc, jsonb_to_recordset(doc.d->'events') AS e(revision bigint, change_id uuid, scope_type text,
             scope_id text, key text, op text, value jsonb, previous jsonb, had_previous boolean,
             key_version integer)
        JOIN changes c ON c.id = e.change_id
    ), upserted AS (
        INSERT INTO settings_current (scope_type, scope_id, key, value, key_version, revision, updated_at,
                                      updated_by)
        SELECT s.scope_type, s.scope_id, s.key, s.value, s.key_version, s.revision, advanced.at, s.actor
        FROM advanced, doc, jsonb_to_recordset(doc.d->'sets') AS s(scope_type text, scope_id text, key text,
             value jsonb, key_version integer, revision bigint, actor text)
        ON CONFLICT (scope_type, scope_id, key) DO UPDATE SET value = excluded.value,
            key_version = excluded.key_version, revision = excluded.revision, updated_at = excluded.updated_at,
            updated_by = excluded.updated_by
    ), deleted AS (
        DELETE FROM settings_current cur
        USING advanced, doc, jsonb_to_recordset(doc.d->'deletes') AS x(scope_type text, scope_id text, key text)
        WHERE cur.scope_type = x.scope_type AND cur.scope_id = x.scope_id AND cur.key = x.key
    )
    SELECT at, pg_notify(:channel, :before || '"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                   || '"' || :after)
    FROM advanced
"""
_HEAD = "SELECT revision FROM settings_head WHERE id = 1"
_STAND_IN_AT = datetime(2000, 1, 1, tzinfo=UTC)  # until the database stamps the batch


class KnownState:
    """The log as of ``head``, for the keys and scopes it holds (``head`` None: nothing known)."""

    def __init__(self) -> None:
        self.head: int | None = None
        self.keys: dict[tuple[Scope, str], KeyState] = {}
        self.scopes: dict[Scope, int] = {}

    def forget(self) -> None:
        self.head = None
        self.keys.clear()
        self.scopes.clear()

    def covers(self, batch: list[tuple[ChangeRequest, list[Operation]]]) -> bool:
        if self.head is None:
            return False
        keys, scopes = self.keys, self.scopes
        for request, ops in batch:
            if any((op.scope, op.key) not in keys for op in ops) \
                    or any(k not in keys for k in request.expect.key_versions) \
                    or any(s not in scopes for s in request.expect.scope_revisions):
                return False
        return True

    def seen(self, head: int, keys: list[tuple[Scope, str]], states: dict[tuple[Scope, str], KeyState],
             scope_revisions: dict[Scope, int]) -> None:
        """What a batch read under the lock (writer.Seen)."""
        if head != self.head or len(self.keys) + len(keys) > MAX_KNOWN_KEYS:
            self.forget()
        self.head = head
        for key in keys:
            self.keys[key] = states.get(key, ABSENT)
        self.scopes.update(scope_revisions)

    def committed(self, batch: writer.Committed) -> None:
        """A batch committed: its events are the newest of their keys and scopes."""
        if not batch.events:
            return
        if self.head is None or batch.first != self.head + 1:
            self.forget()  # someone else's revisions came between: what we knew may be stale
            return
        for event in batch.events:
            self.keys[(event.scope, event.key)] = KeyState(event.op is Op.SET, event.value, event.key_version)
            self.scopes[event.scope] = event.revision
        self.head = batch.last


async def commit_known(conn: asyncpg.Connection, batch: list[tuple[ChangeRequest, list[Operation]]],
                       known: KnownState) -> writer.Committed | None:
    """Plan ``batch`` from ``known`` (which must cover it) and write it in one statement;
    None if the head is no longer ``known.head`` (then nothing was written)."""
    head = known.head
    assert head is not None
    states = {key: known.keys[key] for key in keys_of(batch)}
    outcomes = plan_batch(batch, head, states, {s: known.scopes[s] for s in scopes_expected(batch)})
    planned = [o for o in outcomes if isinstance(o, Planned) and o.events]
    if not planned:  # nothing to write: the answers hold if the head has not moved
        async with unavailable_on_connection_loss():
            current = await conn.fetchval(_HEAD)
        return writer.Committed(outcomes=outcomes, events=[], first=head + 1, last=head) if current == head else None
    events = [e for o in planned for e in events_of(o, _STAND_IN_AT)]
    last = events[-1].revision
    before, after = notify_payload.encode_around_at(head + 1, last, events)
    text, names = writer.numbered(_WRITE_IF_HEAD)
    params = {"head": last, "expected": head, "doc": writer.document(outcomes, events),
              "channel": schema.NOTIFY_CHANNEL, "before": before, "after": after}
    async with unavailable_on_connection_loss():
        row = await conn.fetchrow(text, *(params[n] for n in names))
    if row is None:
        return None
    at: datetime = row[0]
    return writer.Committed(outcomes=outcomes, events=[e for o in planned for e in events_of(o, at)],
                            first=head + 1, last=last)
