"""What a request could have written, read straight from PostgreSQL: to show that a
refused request wrote nothing, compare the ledger before and after it."""

from __future__ import annotations

import asyncio

import asyncpg

from app.store.engine import asyncpg_dsn

_QUERY = """
SELECT (SELECT count(*) FROM settings_events) AS events,
       (SELECT coalesce(string_agg(status, ',' ORDER BY id), '') FROM scheduled_changes) AS scheduled,
       (SELECT count(*) FROM job_runs WHERE trigger = 'manual') AS manual_runs,
       (SELECT count(*) FROM web_sessions) AS sessions,
       (SELECT coalesce(string_agg(status, ',' ORDER BY created_at), '') FROM change_requests) AS change_requests,
       (SELECT count(*) FROM change_guards) AS guards
"""


async def read_ledger(db_url: str) -> dict[str, object]:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        return dict(await conn.fetchrow(_QUERY))
    finally:
        await conn.close()


def ledger(db_url: str) -> dict[str, object]:
    return asyncio.run(read_ledger(db_url))
