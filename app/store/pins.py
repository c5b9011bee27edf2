"""SQL of the conversations pinned to a settings revision (table ``conversation_pins``,
migration 0006). In PostgreSQL so that every worker and replica resolves a
conversation at the same revision; each process caches what it read
(app/services/conversations.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.store.schema import conversation_pins, events

c = conversation_pins.c


class PinRow(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    conversation_id: str
    revision: int | None  # None: released (follows the latest settings)
    explicit: bool
    pinned_at: datetime
    last_used_at: datetime


async def live_pin(conn: AsyncConnection, bot: str, conversation_id: str, idle_since: datetime) -> PinRow | None:
    """The conversation's pin if it was used after ``idle_since`` (else it has expired)."""
    row = (await conn.execute(sa.select(conversation_pins).where(
        c.bot == bot, c.conversation_id == conversation_id, c.last_used_at > idle_since))).first()
    return None if row is None else PinRow(**row._mapping)


async def pins_of(conn: AsyncConnection, conversation_id: str) -> list[PinRow]:
    rows = await conn.execute(sa.select(conversation_pins).where(c.conversation_id == conversation_id)
                              .order_by(c.bot))
    return [PinRow(**r._mapping) for r in rows]


async def pin_first(conn: AsyncConnection, bot: str, conversation_id: str, revision: int, now: datetime,
                    idle_since: datetime) -> PinRow:
    """Pin at ``revision`` unless a live pin exists (another process may have pinned the
    conversation first): the pin that holds afterwards. An expired pin is replaced."""
    stmt = pg_insert(conversation_pins).values(bot=bot, conversation_id=conversation_id, revision=revision,
                                               explicit=False, pinned_at=now, last_used_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.bot, c.conversation_id],
        set_={"revision": stmt.excluded.revision, "explicit": False, "pinned_at": now, "last_used_at": now},
        where=c.last_used_at <= idle_since)
    await conn.execute(stmt)
    row = (await conn.execute(sa.select(conversation_pins).where(
        c.bot == bot, c.conversation_id == conversation_id))).one()
    return PinRow(**row._mapping)


async def set_pin(conn: AsyncConnection, bot: str, conversation_id: str, revision: int | None,
                  now: datetime) -> PinRow:
    """Pin explicitly (``revision``) or release (None), whatever was there."""
    stmt = pg_insert(conversation_pins).values(bot=bot, conversation_id=conversation_id, revision=revision,
                                               explicit=True, pinned_at=now, last_used_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=[c.bot, c.conversation_id],
                                      set_={"revision": revision, "explicit": True, "pinned_at": now,
                                            "last_used_at": now})
    row = (await conn.execute(stmt.returning(*conversation_pins.c))).one()
    return PinRow(**row._mapping)


async def touch(conn: AsyncConnection, keys: list[tuple[str, str]], now: datetime) -> None:
    """Mark conversations as used (their idle expiry starts again)."""
    if keys:
        await conn.execute(conversation_pins.update().where(
            sa.tuple_(c.bot, c.conversation_id).in_(keys)).values(last_used_at=now))


async def delete_idle(conn: AsyncConnection, idle_since: datetime) -> int:
    return int((await conn.execute(conversation_pins.delete().where(c.last_used_at <= idle_since))).rowcount)


async def replaced_at(conn: AsyncConnection, bot: str, revision: int) -> datetime | None:
    """When the first change after ``revision`` touched the bot's scope or the global
    scope (what a pin at ``revision`` resolves from), or None if none has yet."""
    e = events.c
    found: datetime | None = await conn.scalar(sa.select(sa.func.min(e.recorded_at)).where(
        e.revision > revision, sa.or_(sa.and_(e.scope_type == "bot", e.scope_id == bot),
                                      e.scope_type == "global")))
    return found
