"""Connections: the SQLAlchemy async engine over asyncpg, and raw asyncpg for LISTEN."""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _encode(value: object) -> str:
    return msgspec.json.encode(value).decode()


def make_engine(url: str, pool_size: int = 10, *, transaction_pooling: bool = False) -> AsyncEngine:
    """``transaction_pooling``: ``url`` names a transaction pooler (PgBouncer
    pool_mode=transaction), where consecutive transactions of one connection may run on
    different server connections. Prepared statements are then never cached (a cached
    one would be missing on the next server connection) and get unique names (so two
    clients never collide on one server connection). Everything else the store does is
    transaction-scoped (SET TRANSACTION, advisory *xact* locks), so it works unchanged."""
    connect_args: dict[str, object] = {}
    if transaction_pooling:
        connect_args = {"statement_cache_size": 0, "prepared_statement_cache_size": 0,
                        "prepared_statement_name_func": lambda: f"__bs_{uuid.uuid4().hex}__"}
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_encode,
        json_deserializer=msgspec.json.decode,
        connect_args=connect_args,
    )


def asyncpg_dsn(url: str) -> str:
    """The URL asyncpg.connect takes (no '+asyncpg' driver suffix)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
