"""The reply log's retention is a housekeeping job: it runs through the job runner
like every other job, keeps the log within its age and row limits, and deletes idle
conversation pins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.domain import scopes
from app.domain.replies import Reply, ReplyFilter
from app.services.housekeeping import REPLY_RETENTION
from app.store import pins
from app.store import replies as store
from tests.support.runtimes import RuntimeFactory


def reply(n: int, at: datetime) -> Reply:
    return Reply(request_id=f"r{n}", bot="mira", at=at, revision=0, settings={}, overrides={}, params={},
                 model="m", model_source="default_model", status=200, latency_ms=1.0, context={})


async def test_the_retention_job_drops_old_replies_keeps_the_newest_count_and_expires_idle_pins(
        runtimes: RuntimeFactory) -> None:
    rt = await runtimes.start(reply_log_retention_days=30, reply_log_max_rows=3)
    replies, conversations = rt.services.replies, rt.services.conversations
    assert REPLY_RETENTION in [j.id for j in rt.catalogue.jobs()]
    now = datetime.now(UTC)
    async with rt.db.write() as conn:  # as if written over the last weeks
        await store.insert_replies(conn, [reply(n, now - timedelta(days=40 - n)) for n in range(5)]
                                   + [reply(n, now - timedelta(minutes=10 - n)) for n in range(5, 10)])
    await rt.service.patch(scopes.GLOBAL, {"conversation_pin_idle_seconds": 1}, actor="test")
    await conversations.resolve("mira", {}, "idle", None)
    assert len(await conversations.pins("idle")) == 1
    await asyncio.sleep(1.2)
    run = await rt.jobs.run_now(REPLY_RETENTION)
    assert run.status == "succeeded", run.error
    left = (await replies.page(ReplyFilter(), 100)).replies
    assert [r.request_id for r in left] == ["r9", "r8", "r7"]
    async with rt.db.read() as conn:
        assert await pins.pins_of(conn, "idle") == []  # the row is gone, not only hidden
