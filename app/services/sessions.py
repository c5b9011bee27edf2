"""Sign-in sessions of the operators' page, for the HTTP edge (app/http/auth.py and
app/web/login.py).

The cookie holds a random session id, never the API token: a stolen cookie is worth
one session (it expires after SESSION_HOURS and ends at sign-out), not the token,
and the token never sits in the browser. Sessions live in PostgreSQL so that every
worker and replica honours and revokes the same ones (a signed cookie would need a
shared key and a revocation table anyway); the row names the token, and the tokens
file still decides who that is: a token removed from it signs no one in, whatever
sessions it had."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.access import Principal, Token, new_session_id, principal_named, session_hash
from app.store import sessions
from app.store.database import Database

SESSION_HOURS = 12


class SessionsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, principal: Principal) -> str:
        """A new session for ``principal``; returns the id to put in the cookie."""
        session_id = new_session_id()
        now = datetime.now(UTC)
        async with self.db.write() as conn:
            await sessions.open_session(conn, session_hash(session_id), principal.name, now,
                                        now + timedelta(hours=SESSION_HOURS))
        return session_id

    async def principal(self, tokens: list[Token], session_id: str) -> Principal:
        """Who a live session belongs to; Unauthenticated if it expired, was revoked or never was."""
        async with self.db.read() as conn:
            name = await sessions.session_token(conn, session_hash(session_id), datetime.now(UTC))
        return principal_named(tokens, name)

    async def close(self, session_id: str) -> None:
        async with self.db.write() as conn:
            await sessions.revoke_session(conn, session_hash(session_id), datetime.now(UTC))
