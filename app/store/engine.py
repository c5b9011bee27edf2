"""Connections: the SQLAlchemy async engine over asyncpg, and raw asyncpg for LISTEN."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _encode(value: object) -> str:
    return msgspec.json.encode(value).decode()


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_encode,
        json_deserializer=msgspec.json.decode,
    )


def asyncpg_dsn(url: str) -> str:
    """The URL asyncpg.connect takes (no '+asyncpg' driver suffix)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
