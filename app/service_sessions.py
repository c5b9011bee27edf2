"""Sign-in sessions of the operators' page, for the HTTP edge (app/http/auth.py and
app/web/login.py).

The cookie holds a random session id, never the API token: a stolen cookie is worth
one session (it expires after SESSION_HOURS and ends at sign-out), not the token,
and the token never sits in the browser. Sessions live in PostgreSQL so that every
worker and replica honours and revokes the same ones; the row names the token, and
the token file is still what decides who that is (a token removed from it signs no
one in, whatever sessions it had)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.access import Principal, Token, new_session_id, principal_named, session_hash
from app.store import sessions

SESSION_HOURS = 12


async def open_session(engine: AsyncEngine, principal: Principal) -> str:
    """A new session for ``principal``; returns the id to put in the cookie."""
    session_id = new_session_id()
    now = datetime.now(UTC)
    await sessions.open_session(engine, session_hash(session_id), principal.name, now,
                                now + timedelta(hours=SESSION_HOURS))
    return session_id


async def session_principal(engine: AsyncEngine, tokens: list[Token], session_id: str) -> Principal:
    """Who a live session belongs to; Unauthenticated if it expired, was revoked or never was."""
    name = await sessions.session_token(engine, session_hash(session_id), datetime.now(UTC))
    return principal_named(tokens, name)


async def close_session(engine: AsyncEngine, session_id: str) -> None:
    await sessions.revoke_session(engine, session_hash(session_id), datetime.now(UTC))
