"""Telling "the database is unreachable" apart from every other failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import sqlalchemy.exc

from app.domain.errors import Unavailable

_CONNECTION_ERRORS = (
    OSError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, Unavailable):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig or exc
        exc = getattr(exc, "__cause__", None) or exc
    if isinstance(exc, sqlalchemy.exc.InterfaceError):
        return True
    return isinstance(exc, _CONNECTION_ERRORS)


@asynccontextmanager
async def unavailable_on_connection_loss() -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            raise Unavailable(f"the database is unavailable: {type(exc).__name__}") from exc
        raise


def is_transient(exc: BaseException) -> bool:
    """A failure of the database rather than of the request: the connection lost, a
    statement cancelled (statement_timeout), a lock or deadlock timeout. The
    transaction rolled back; the same request may succeed if retried."""
    if is_unavailable(exc):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        exc = getattr(exc.orig, "__cause__", None) or exc.orig or exc
    return isinstance(exc, (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError,
                            asyncpg.DeadlockDetectedError, asyncpg.SerializationError))
