"""The reply log's table on a real PostgreSQL: batch insert, read back, pages,
per-bot figures and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.replies import Reply, ReplyFilter, Usage, percentile
from app.store import replies
from app.store.database import Database

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def reply(n: int, bot: str = "mira", *, status: int = 200, latency: float = 10.0, finish: str | None = "stop",
          at: datetime | None = None) -> Reply:
    return Reply(request_id=f"req-{n}", bot=bot, at=at or T0 + timedelta(seconds=n), revision=n,
                 settings={"temperature": [0.5, "bot"]}, overrides={}, params={"model": "m", "temperature": 0.5},
                 model="m", model_source="default_model", status=status, latency_ms=latency, finish_reason=finish,
                 usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7), context={"messages_sent": 1})


async def test_a_batch_reads_back_whole_and_pages_newest_first(db: Database) -> None:
    async with db.write() as conn:
        await replies.insert_replies(conn, [reply(n) for n in range(1, 6)])
    async with db.read() as conn:
        got = await replies.reply(conn, "req-3")
        first, cursor = await replies.replies_page(conn, ReplyFilter(bot="mira"), 2, None)
        second, _ = await replies.replies_page(conn, ReplyFilter(bot="mira"), 2, cursor)
    assert got == reply(3)
    assert [r.request_id for r in first + second] == ["req-5", "req-4", "req-3", "req-2"]


async def test_figures_count_errors_truncations_and_p95_per_bot_in_the_window(db: Database) -> None:
    rows = [reply(n, latency=float(n)) for n in range(1, 21)]  # latencies 1…20 ms
    rows += [reply(21, status=502, finish=None), reply(22, finish="length"), reply(23, "nova")]
    rows.append(reply(24, at=T0 + timedelta(hours=2)))  # outside the window
    async with db.write() as conn:
        await replies.insert_replies(conn, rows)
    async with db.read() as conn:
        figures = await replies.bot_figures(conn, ["mira", "nova", "kai"], T0, T0 + timedelta(hours=1))
    mira = figures["mira"]
    assert (mira.count, mira.errors, mira.truncated) == (22, 1, 1)
    # nearest rank over 22 latencies (1…20 and two of 10): the 21st smallest
    assert mira.p95_latency_ms == 19.0 == percentile([r.latency_ms for r in rows[:23] if r.bot == "mira"], 0.95)
    assert figures["nova"].count == 1 and "kai" not in figures


async def test_retention_removes_old_rows_then_keeps_the_newest_count(db: Database) -> None:
    async with db.write() as conn:
        await replies.insert_replies(conn, [reply(n) for n in range(1, 11)])
    async with db.write() as conn:
        deleted = await replies.prune(conn, T0 + timedelta(seconds=3), keep_rows=5)
    async with db.read() as conn:
        left, _ = await replies.replies_page(conn, ReplyFilter(), 100, None)
    assert deleted == 5
    assert [r.request_id for r in left] == [f"req-{n}" for n in range(10, 5, -1)]
