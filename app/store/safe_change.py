"""What a change's detail adds when it came through a change request or carries a
guard: read from change_requests and change_guards (migration 0007)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.audit import Approval, GuardInfo
from app.store.schema import change_guards, change_requests


async def of_change(conn: AsyncConnection, change_id: uuid.UUID) -> tuple[Approval | None, GuardInfo | None]:
    r = change_requests.c
    row = (await conn.execute(sa.select(r.id, r.author, r.decided_by, r.decided_at)
                              .where(r.change_id == change_id))).first()
    approval = Approval(request_id=row.id, author=row.author, approver=row.decided_by,
                        approved_at=row.decided_at) if row else None
    return approval, await guard_of(conn, change_id)


async def guard_of(conn: AsyncConnection, change_id: uuid.UUID) -> GuardInfo | None:
    g = change_guards.c
    row = (await conn.execute(sa.select(g.status, g.bots, g.started_at, g.window_seconds, g.finished_at, g.figures,
                                        g.revert_change_id, g.note).where(g.change_id == change_id))).first()
    return GuardInfo(**row._mapping) if row else None
