"""SQL of guarded changes (table ``change_guards``, migration 0007). A guard is
inserted inside its change's transaction, and settled (passed, reverted, ended) by a
conditional update from ``watching``, so it is settled once whoever evaluates it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.audit import GuardInfo
from app.domain.errors import Conflict
from app.store.change_log import _guard
from app.store.schema import change_guards

g = change_guards.c


class GuardRow(GuardInfo, frozen=True, kw_only=True):
    change_id: uuid.UUID
    keys: list[list[str]]  # [scope, key]
    first_revision: int
    last_revision: int
    actor: str


async def insert(conn: AsyncConnection, *, change_id: uuid.UUID, bots: list[str], keys: list[list[str]],
                 first_revision: int, last_revision: int, window_seconds: float, actor: str) -> None:
    await conn.execute(change_guards.insert().values(
        change_id=change_id, bots=bots, keys=keys, first_revision=first_revision, last_revision=last_revision,
        started_at=sa.func.clock_timestamp(), window_seconds=window_seconds, status="watching", actor=actor))


async def watching(conn: AsyncConnection) -> list[GuardRow]:
    rows = await conn.execute(sa.select(change_guards).where(g.status == "watching").order_by(g.started_at))
    return [GuardRow(**msgspec_fields(_guard(r)), change_id=r.change_id, keys=r.keys,
                     first_revision=r.first_revision, last_revision=r.last_revision, actor=r.actor) for r in rows]


def msgspec_fields(info: GuardInfo) -> dict[str, Any]:
    return {f: getattr(info, f) for f in info.__struct_fields__}


async def record(conn: AsyncConnection, change_id: uuid.UUID, figures: dict[str, Any]) -> None:
    """The latest evaluation, shown while it is still watching."""
    await conn.execute(change_guards.update().where(g.change_id == change_id, g.status == "watching")
                       .values(figures=figures))


async def settle(conn: AsyncConnection, change_id: uuid.UUID, status: str, *, note: str,
                 figures: dict[str, Any] | None = None, revert_change_id: uuid.UUID | None = None) -> None:
    """watching → ``status``; raises Conflict when someone settled it first (the
    transaction it runs in — a revert's — then rolls back)."""
    values: dict[str, Any] = {"status": status, "note": note, "finished_at": sa.func.clock_timestamp(),
                              "revert_change_id": revert_change_id}
    if figures is not None:
        values["figures"] = figures
    updated = await conn.execute(change_guards.update().where(g.change_id == change_id, g.status == "watching")
                                 .values(**values))
    if updated.rowcount != 1:
        raise Conflict(f"the guard of change {change_id} is no longer watching", change_id=str(change_id))


async def now(conn: AsyncConnection) -> datetime:
    value: datetime = (await conn.execute(sa.text("SELECT clock_timestamp()"))).scalar_one()
    return value
