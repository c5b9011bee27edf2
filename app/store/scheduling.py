"""SQL of the scheduler: job runs, the published schedule, scheduled setting changes.

The claim of a scheduled change happens inside the change transaction itself
(see :func:`claim_applied`), which is what makes "applied once, never twice" hold
whatever the leadership does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.events import ChangeResult
from app.domain.jobs import JobRun, ScheduleEntry
from app.domain.scheduled import AlreadySettled, ScheduledChange
from app.domain.scopes import Scope, ScopeType
from app.store.schema import SCHEDULED_CHANNEL, job_runs, job_schedule, scheduled_changes


# -- job runs -----------------------------------------------------------------------
async def start_run(conn: AsyncConnection, *, job_id: str, job: str, bot: str | None, trigger: str,
                    scheduled_for: datetime | None, handler: str, runner: str, revision: int,
                    parameters: dict[str, Any]) -> JobRun:
    row = (await conn.execute(job_runs.insert().values(
        job_id=job_id, job=job, bot=bot, trigger=trigger, scheduled_for=scheduled_for,
        started_at=sa.func.clock_timestamp(), status="running", attempts=0, handler=handler, runner=runner,
        settings_revision=revision, parameters=parameters).returning(*job_runs.c))).one()
    return JobRun(**row._mapping)


async def finish_run(conn: AsyncConnection, run_id: int, *, status: str, attempts: int,
                     error: str | None) -> JobRun:
    row = (await conn.execute(job_runs.update().where(job_runs.c.id == run_id).values(
        status=status, attempts=attempts, error=error, finished_at=sa.func.clock_timestamp())
        .returning(*job_runs.c))).one()
    return JobRun(**row._mapping)


async def abandon_runs(conn: AsyncConnection, leader: str) -> int:
    """Scheduled runs another leader left running: it is gone (we hold the lock now)."""
    c = job_runs.c
    result = await conn.execute(job_runs.update().where(
        c.status == "running", c.trigger == "schedule", c.runner != leader).values(
        status="failed", error="abandoned: the leader running it went away", finished_at=sa.func.clock_timestamp()))
    return result.rowcount


async def runs_of(conn: AsyncConnection, job_id: str, limit: int) -> list[JobRun]:
    rows = await conn.execute(sa.select(job_runs).where(job_runs.c.job_id == job_id)
                              .order_by(job_runs.c.id.desc()).limit(limit))
    return [JobRun(**r._mapping) for r in rows]


async def last_runs(conn: AsyncConnection) -> dict[str, JobRun]:
    rows = await conn.execute(sa.select(job_runs).ext(distinct_on(job_runs.c.job_id))
                              .order_by(job_runs.c.job_id, job_runs.c.id.desc()))
    return {r.job_id: JobRun(**r._mapping) for r in rows}


# -- the published schedule ----------------------------------------------------------
async def publish_schedule(conn: AsyncConnection, entries: list[dict[str, Any]]) -> None:
    """Replace the published schedule with ``entries`` (the leader's jobs)."""
    ids = [e["job_id"] for e in entries]
    await conn.execute(job_schedule.delete().where(job_schedule.c.job_id.not_in(ids)))
    if entries:
        stmt = pg_insert(job_schedule).values([{**e, "updated_at": sa.func.clock_timestamp()} for e in entries])
        await conn.execute(stmt.on_conflict_do_update(index_elements=["job_id"], set_={
            c: stmt.excluded[c] for c in ("next_run_at", "interval_seconds", "settings_revision", "handler",
                                          "leader", "updated_at")}))


async def schedule(conn: AsyncConnection) -> dict[str, ScheduleEntry]:
    rows = await conn.execute(sa.select(job_schedule))
    return {r.job_id: ScheduleEntry(**r._mapping) for r in rows}


async def now(conn: AsyncConnection) -> datetime:
    value: datetime = (await conn.execute(sa.text("SELECT clock_timestamp()"))).scalar_one()
    return value


# -- scheduled changes ---------------------------------------------------------------
def _scheduled(row: Any) -> ScheduledChange:
    data = dict(row._mapping)
    scope = Scope(ScopeType(data.pop("scope_type")), data.pop("scope_id"))
    return ScheduledChange(scope=str(scope), **data)


async def insert_scheduled(conn: AsyncConnection, *, scope: Scope, patch: dict[str, Any], reason: str,
                           actor: str, apply_at: datetime) -> ScheduledChange:
    row = (await conn.execute(scheduled_changes.insert().values(
        id=uuid.uuid4(), scope_type=scope.type.value, scope_id=scope.id, patch=patch, reason=reason, actor=actor,
        apply_at=apply_at, created_at=sa.func.clock_timestamp(), status="pending")
        .returning(*scheduled_changes.c))).one()
    await conn.execute(sa.select(sa.func.pg_notify(SCHEDULED_CHANNEL, str(row.id))))
    return _scheduled(row)


async def get_scheduled(conn: AsyncConnection, change_id: uuid.UUID) -> ScheduledChange | None:
    row = (await conn.execute(sa.select(scheduled_changes).where(scheduled_changes.c.id == change_id))).first()
    return _scheduled(row) if row else None


async def list_scheduled(conn: AsyncConnection, status: str | None, limit: int) -> list[ScheduledChange]:
    c = scheduled_changes.c
    query = sa.select(scheduled_changes).order_by(c.apply_at, c.created_at).limit(limit)
    if status:
        query = query.where(c.status == status)
    return [_scheduled(r) for r in await conn.execute(query)]


async def due_scheduled(conn: AsyncConnection, limit: int = 100) -> tuple[list[ScheduledChange], float | None]:
    """Pending changes whose time has come (by the database's clock), oldest first, and
    the seconds until the next one after them (None: nothing else pending)."""
    c = scheduled_changes.c
    due = [_scheduled(r) for r in await conn.execute(
        sa.select(scheduled_changes).where(c.status == "pending", c.apply_at <= sa.func.clock_timestamp())
        .order_by(c.apply_at, c.created_at).limit(limit))]
    wait = await conn.scalar(sa.text(
        "SELECT extract(epoch FROM min(apply_at) - clock_timestamp()) FROM scheduled_changes "
        "WHERE status = 'pending' AND apply_at > clock_timestamp()"))
    return due, float(wait) if wait is not None else None


async def claim_applied(conn: AsyncConnection, change_id: uuid.UUID, result: ChangeResult, applier: str) -> None:
    """Mark a scheduled change applied, inside the transaction that applies it.

    The UPDATE only matches a pending row. A second applier (another process, or a
    leader that has just been deposed) blocks on the row lock until the first
    commits, then matches nothing: it raises, and its whole transaction — the
    settings change included — rolls back. Both commit together or neither does.
    """
    c = scheduled_changes.c
    updated = await conn.execute(scheduled_changes.update().where(c.id == change_id, c.status == "pending").values(
        status="applied", finished_at=sa.func.clock_timestamp(),
        delay_seconds=sa.extract("epoch", sa.func.clock_timestamp() - c.apply_at),
        change_id=result.change_id, first_revision=result.first_revision, last_revision=result.last_revision,
        applied_by=applier))
    if updated.rowcount != 1:
        raise AlreadySettled(f"scheduled change {change_id} is no longer pending", id=str(change_id))


async def settle(conn: AsyncConnection, change_id: uuid.UUID, status: str, *, error: str | None = None,
                 by: str | None = None) -> ScheduledChange | None:
    """Move a pending change to failed or cancelled; None if it was not pending."""
    c = scheduled_changes.c
    row = (await conn.execute(scheduled_changes.update().where(c.id == change_id, c.status == "pending").values(
        status=status, error=error, applied_by=by, finished_at=sa.func.clock_timestamp())
        .returning(*scheduled_changes.c))).first()
    return _scheduled(row) if row else None
