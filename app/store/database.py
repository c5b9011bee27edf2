"""The database, as units of work: the one place that opens connections and
transactions, and the one place that turns a lost connection into ``Unavailable``.

- ``read()``: a connection for reads (autobegin; each statement sees committed data);
- ``snapshot()``: a REPEATABLE READ transaction, so several reads see one state of
  the database (history, point-in-time reads, plans for rollback and import);
- ``write()``: a transaction that commits when the block ends and rolls back if it
  raises — every change of state is made in one.

Services hold a :class:`Database` and call the store's statement functions
(reader, writer, history, scheduling) with the connection a unit of work gives
them; they never import SQLAlchemy themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.store.engine import asyncpg_dsn, make_engine
from app.store.errors import unavailable_on_connection_loss

# What a unit of work hands to the store's statement functions.
Connection: TypeAlias = AsyncConnection

_REPEATABLE_READ = sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
_REPEATABLE_READ_ONLY = sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


async def begin_snapshot(conn: Connection, *, read_only: bool = False) -> None:
    """Make the transaction that ``conn`` is about to begin see one snapshot of the
    database: must be its first statement."""
    await conn.execute(_REPEATABLE_READ_ONLY if read_only else _REPEATABLE_READ)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, transaction_pooling: bool = False,
                 session_url: str | None = None) -> None:
        """``transaction_pooling``: ``url`` names a transaction pooler (see make_engine).
        ``session_url`` (default ``url``): where the connections that keep session state
        go — LISTEN, and the leader's advisory lock, held for as long as it leads. A
        transaction pooler hands its server connection to another client after each
        transaction, taking a LISTEN or a lock with it, so these must bypass it."""
        self.url = url
        self.transaction_pooling = transaction_pooling
        self.dsn = asyncpg_dsn(session_url or url)  # for the connections outside the pool (LISTEN, leadership)
        self.engine = make_engine(url, pool_size=pool_size, transaction_pooling=transaction_pooling)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Connection]:
        """Every read inside sees one snapshot of the database."""
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            await begin_snapshot(conn)
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        async with unavailable_on_connection_loss(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def write_snapshot(self) -> AsyncIterator[Connection]:
        """A write whose reads all see one snapshot (a snapshot of the whole state)."""
        async with unavailable_on_connection_loss(), self.engine.begin() as conn:
            await begin_snapshot(conn)
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
