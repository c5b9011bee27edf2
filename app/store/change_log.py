"""The history page's change log: for a page of changes, each one's scopes, its first
events and its change request and guard — three statements for the whole page,
whatever the size of the changes (a migration of 100 keys is one row)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.audit import Approval, ChangeInfo, GuardInfo
from app.domain.events import Event
from app.store import schema
from app.store.reader import event_from_row


class Details:
    def __init__(self) -> None:
        self.scopes: dict[UUID, list[str]] = defaultdict(list)
        self.events: dict[UUID, list[Event]] = defaultdict(list)
        self.approvals: dict[UUID, Approval] = {}
        self.guards: dict[UUID, GuardInfo] = {}


async def details(conn: AsyncConnection, changes: list[ChangeInfo], per_change: int) -> Details:
    """Scopes (sorted), the first ``per_change`` events, change request and guard of each change."""
    found = Details()
    if not changes:
        return found
    ids = [c.id for c in changes]
    lo, hi = min(c.first_revision for c in changes), max(c.last_revision for c in changes)
    e = schema.events.c
    in_range = sa.and_(e.revision.between(lo, hi), e.change_id.in_(ids))
    scopes = await conn.execute(sa.select(e.change_id, e.scope_type, e.scope_id).where(in_range)
                                .group_by(e.change_id, e.scope_type, e.scope_id))
    for row in scopes:
        found.scopes[row.change_id].append("global" if row.scope_type == "global" else f"bots/{row.scope_id}")
    for listed in found.scopes.values():
        listed.sort(key=lambda s: (s != "global", s))
    numbered = sa.select(schema.events, sa.func.row_number().over(partition_by=e.change_id, order_by=e.revision)
                         .label("n")).where(in_range).subquery()
    rows = await conn.execute(sa.select(numbered).where(numbered.c.n <= per_change).order_by(numbered.c.revision))
    for event_row in rows:
        found.events[event_row.change_id].append(event_from_row(event_row))
    r = schema.change_requests.c
    for req in await conn.execute(sa.select(r.id, r.change_id, r.author, r.decided_by, r.decided_at)
                                  .where(r.change_id.in_(ids))):
        found.approvals[req.change_id] = Approval(request_id=req.id, author=req.author, approver=req.decided_by,
                                                  approved_at=req.decided_at)
    g = schema.change_guards.c
    for guard in await conn.execute(sa.select(schema.change_guards).where(g.change_id.in_(ids))):
        found.guards[guard.change_id] = _guard(guard)
    return found


def _guard(row: Any) -> GuardInfo:
    return GuardInfo(status=row.status, bots=row.bots, started_at=row.started_at, window_seconds=row.window_seconds,
                     finished_at=row.finished_at, figures=row.figures, revert_change_id=row.revert_change_id,
                     note=row.note)
