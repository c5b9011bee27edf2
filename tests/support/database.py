"""Below the service layer: statements on the test server's maintenance database, URLs of
other databases on it, and one-off queries from synchronous tests."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import sqlalchemy as sa

from app.store.engine import asyncpg_dsn


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


async def admin(url: str, *statements: str) -> None:
    """Run ``statements`` one by one, outside any transaction (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def sql(db_url: str, query: str) -> list[Any]:
    """The rows of ``query`` as tuples, for tests that run no event loop of their own."""
    async def go() -> list[Any]:
        conn = await asyncpg.connect(asyncpg_dsn(db_url))
        try:
            return [tuple(r) for r in await conn.fetch(query)]
        finally:
            await conn.close()
    return asyncio.run(go())
