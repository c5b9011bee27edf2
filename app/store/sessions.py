"""SQL of the page's sign-in sessions (table ``web_sessions``, migration 0003).

Kept in PostgreSQL, not in process memory, so a session opened through one worker
or replica is honoured, and revoked, by all of them. Only a hash of the session id
is stored: a copy of the table opens no session."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.store.database import Connection
from app.store.schema import web_sessions


async def open_session(conn: Connection, id_hash: bytes, token_name: str, now: datetime,
                       expires_at: datetime) -> None:
    # Expired sessions are of no use to anyone: each sign-in sweeps them.
    await conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
    await conn.execute(web_sessions.insert().values(id_hash=id_hash, token_name=token_name, created_at=now,
                                                    expires_at=expires_at))


async def session_token(conn: Connection, id_hash: bytes, now: datetime) -> str | None:
    """The token name of a live (unexpired, unrevoked) session, else None."""
    name: str | None = await conn.scalar(sa.select(web_sessions.c.token_name).where(
        web_sessions.c.id_hash == id_hash, web_sessions.c.expires_at > now, web_sessions.c.revoked_at.is_(None)))
    return name


async def revoke_session(conn: Connection, id_hash: bytes, now: datetime) -> None:
    await conn.execute(web_sessions.update().where(web_sessions.c.id_hash == id_hash,
                                                   web_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
