"""SQL of the page's sign-in sessions (table ``web_sessions``, migration 0003).

Kept in PostgreSQL, not in process memory, so a session opened through one worker
or replica is honoured, and revoked, by all of them. Only a hash of the session id
is stored: a copy of the table opens no session."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.schema import metadata

web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id_hash", sa.LargeBinary, primary_key=True),
    sa.Column("token_name", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)


async def open_session(engine: AsyncEngine, id_hash: bytes, token_name: str, now: datetime,
                       expires_at: datetime) -> None:
    async with engine.begin() as conn:
        # Expired sessions are of no use to anyone: each sign-in sweeps them.
        await conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
        await conn.execute(web_sessions.insert().values(id_hash=id_hash, token_name=token_name, created_at=now,
                                                        expires_at=expires_at))


async def session_token(engine: AsyncEngine, id_hash: bytes, now: datetime) -> str | None:
    """The token name of a live (unexpired, unrevoked) session, else None."""
    async with engine.connect() as conn:
        return await conn.scalar(sa.select(web_sessions.c.token_name).where(
            web_sessions.c.id_hash == id_hash, web_sessions.c.expires_at > now,
            web_sessions.c.revoked_at.is_(None)))


async def revoke_session(engine: AsyncEngine, id_hash: bytes, now: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(web_sessions.update().where(web_sessions.c.id_hash == id_hash,
                                                       web_sessions.c.revoked_at.is_(None)).values(revoked_at=now))


async def revoke_token_sessions(engine: AsyncEngine, token_name: str, now: datetime) -> int:
    """Sign a token out everywhere (e.g. when it is rotated); the count revoked."""
    async with engine.begin() as conn:
        result = await conn.execute(web_sessions.update().where(
            web_sessions.c.token_name == token_name, web_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
        return result.rowcount or 0
