"""SQL of change requests (four eyes). The application of an approved one claims its
row inside the change transaction itself (:func:`claim_applied`), as a scheduled
change does: applied once, whoever applies it and whatever leadership does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.events import ChangeResult
from app.domain.proposals import AlreadyDecided, Proposal
from app.store.schema import SCHEDULED_CHANNEL, change_requests

c = change_requests.c


def _proposal(row: Any) -> Proposal:
    return Proposal(**row._mapping)


async def insert(conn: AsyncConnection, *, patches: dict[str, dict[str, Any]], reason: str, author: str,
                 apply_at: datetime | None, guard_seconds: float | None) -> Proposal:
    row = (await conn.execute(change_requests.insert().values(
        id=uuid.uuid4(), patches=patches, reason=reason, author=author, status="pending",
        created_at=sa.func.clock_timestamp(), apply_at=apply_at, guard_seconds=guard_seconds)
        .returning(*change_requests.c))).one()
    return _proposal(row)


async def get(conn: AsyncConnection, proposal_id: uuid.UUID) -> Proposal | None:
    row = (await conn.execute(sa.select(change_requests).where(c.id == proposal_id))).first()
    return _proposal(row) if row else None


async def list_(conn: AsyncConnection, status: str | None, limit: int) -> list[Proposal]:
    query = sa.select(change_requests).order_by(c.created_at.desc()).limit(limit)
    if status:
        query = query.where(c.status == status)
    return [_proposal(r) for r in await conn.execute(query)]


async def decide(conn: AsyncConnection, proposal_id: uuid.UUID, *, status: str, by: str, note: str | None,
                 from_: tuple[str, ...]) -> Proposal | None:
    """Move a proposal from one of ``from_`` to ``status``; None if it was in none of them."""
    row = (await conn.execute(change_requests.update().where(c.id == proposal_id, c.status.in_(from_)).values(
        status=status, decided_by=by, decided_at=sa.func.clock_timestamp(), decision_note=note)
        .returning(*change_requests.c))).first()
    if row is not None and status == "approved":
        await conn.execute(sa.select(sa.func.pg_notify(SCHEDULED_CHANNEL, str(proposal_id))))  # wake the leader
    return _proposal(row) if row else None


async def due(conn: AsyncConnection, limit: int = 100) -> tuple[list[Proposal], float | None]:
    """Approved proposals whose time has come (by the database's clock), oldest first,
    and the seconds until the next approved one (None: none)."""
    now = sa.func.clock_timestamp()
    rows = await conn.execute(sa.select(change_requests).where(
        c.status == "approved", sa.or_(c.apply_at.is_(None), c.apply_at <= now))
        .order_by(sa.func.coalesce(c.apply_at, c.decided_at)).limit(limit))
    wait = await conn.scalar(sa.text(
        "SELECT extract(epoch FROM min(apply_at) - clock_timestamp()) FROM change_requests "
        "WHERE status = 'approved' AND apply_at > clock_timestamp()"))
    return [_proposal(r) for r in rows], float(wait) if wait is not None else None


async def claim_applied(conn: AsyncConnection, proposal_id: uuid.UUID, result: ChangeResult) -> None:
    """Mark an approved proposal applied, inside the transaction that applies it. A
    second applier blocks on the row, then matches nothing and rolls back entirely."""
    updated = await conn.execute(change_requests.update().where(c.id == proposal_id, c.status == "approved")
                                 .values(status="applied", applied_at=sa.func.clock_timestamp(),
                                         change_id=result.change_id, first_revision=result.first_revision,
                                         last_revision=result.last_revision))
    if updated.rowcount != 1:
        raise AlreadyDecided(f"change request {proposal_id} is no longer approved", id=str(proposal_id))


async def fail(conn: AsyncConnection, proposal_id: uuid.UUID, error: str) -> Proposal | None:
    row = (await conn.execute(change_requests.update().where(c.id == proposal_id, c.status == "approved")
                              .values(status="failed", error=error, applied_at=sa.func.clock_timestamp())
                              .returning(*change_requests.c))).first()
    return _proposal(row) if row else None


async def of_change(conn: AsyncConnection, change_id: uuid.UUID) -> Proposal | None:
    row = (await conn.execute(sa.select(change_requests).where(c.change_id == change_id))).first()
    return _proposal(row) if row else None
