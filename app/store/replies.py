"""SQL of the reply log (table ``reply_log``, migration 0006).

Rows arrive in batches (app/services/replies.py queues them off the request path),
so the insert is one statement of many rows. Reads are by request id, by page
(newest first, filtered by bot, time and status) and as per-bot figures over a time
window, which the (bot, at) index serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.replies import BotFigures, Reply, ReplyFilter, Usage, status_matches
from app.store.schema import reply_log

INSERT_CHUNK = 1000  # rows per INSERT: 27 columns each stays far below PostgreSQL's 32,767 parameters
_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens")


def _row(reply: Reply) -> dict[str, Any]:
    row = {f: getattr(reply, f) for f in reply.__struct_fields__ if f != "usage"}
    usage = reply.usage or Usage()
    row.update({f: getattr(usage, f) for f in _USAGE})
    return row


def _reply(row: Any) -> Reply:
    m = dict(row._mapping)
    m.pop("id")
    usage = {f: m.pop(f) for f in _USAGE}
    return Reply(**m, usage=Usage(**usage) if any(v is not None for v in usage.values()) else None)


async def insert_replies(conn: AsyncConnection, replies: Sequence[Reply]) -> None:
    for start in range(0, len(replies), INSERT_CHUNK):
        await conn.execute(reply_log.insert().values([_row(r) for r in replies[start:start + INSERT_CHUNK]]))


async def reply(conn: AsyncConnection, request_id: str) -> Reply | None:
    """The latest reply of that request id (a client retrying may reuse one)."""
    row = (await conn.execute(sa.select(reply_log).where(reply_log.c.request_id == request_id)
                              .order_by(reply_log.c.id.desc()).limit(1))).first()
    return None if row is None else _reply(row)


def _where(f: ReplyFilter) -> list[sa.ColumnElement[bool]]:
    c = reply_log.c
    where: list[sa.ColumnElement[bool]] = []
    if f.bot is not None:
        where.append(c.bot == f.bot)
    if f.bots is not None:
        where.append(c.bot.in_(sorted(f.bots)))
    if f.since is not None:
        where.append(c.at >= f.since)
    if f.until is not None:
        where.append(c.at <= f.until)
    if f.status is not None:
        kind, code = status_matches(f.status)
        where.append(c.status < 400 if kind == "ok" else c.status >= 400 if kind == "error" else c.status == code)
    return where


async def replies_page(conn: AsyncConnection, f: ReplyFilter, limit: int,
                       below: int | None) -> tuple[list[Reply], int | None]:
    """Newest first; the second item is the id to continue below when the page is full."""
    where = _where(f)
    if below is not None:
        where.append(reply_log.c.id < below)
    rows = list(await conn.execute(sa.select(reply_log).where(*where).order_by(reply_log.c.id.desc()).limit(limit)))
    return [_reply(r) for r in rows], (rows[-1].id if len(rows) == limit else None)


async def bot_figures(conn: AsyncConnection, bots: Iterable[str], since: datetime,
                      until: datetime) -> dict[str, BotFigures]:
    """Per bot in [since, until): replies, errors (status ≥ 400), p95 latency, truncated
    replies (finish_reason ``length``). A bot without replies in the window is absent."""
    c = reply_log.c
    query = (sa.select(c.bot, sa.func.count().label("n"),
                       sa.func.count().filter(c.status >= 400).label("errors"),
                       sa.func.percentile_disc(0.95).within_group(c.latency_ms).label("p95"),
                       sa.func.count().filter(c.finish_reason == "length").label("truncated"))
             .where(c.bot.in_(sorted(set(bots))), c.at >= since, c.at < until).group_by(c.bot))
    return {r.bot: BotFigures(bot=r.bot, count=r.n, errors=r.errors, p95_latency_ms=r.p95,
                              truncated=r.truncated) for r in await conn.execute(query)}


async def prune(conn: AsyncConnection, older_than: datetime, keep_rows: int) -> int:
    """Delete replies recorded before ``older_than``, then all but the newest ``keep_rows``."""
    c = reply_log.c
    deleted = (await conn.execute(reply_log.delete().where(c.at < older_than))).rowcount
    boundary = await conn.scalar(sa.select(c.id).order_by(c.id.desc()).offset(keep_rows).limit(1))
    if boundary is not None:
        deleted += (await conn.execute(reply_log.delete().where(c.id <= boundary))).rowcount
    return int(deleted)


async def count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(reply_log)) or 0)
