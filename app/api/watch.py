"""/v1/watch: server-sent events, one per applied change, for processes that do not
talk to PostgreSQL. Resume with `?since=REV` (or the Last-Event-ID header)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.params import FromQuery
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.domain.events import AppliedChange
from app.http.deps import Service
from app.services.settings import SettingsService

HEARTBEAT_SECONDS = 15.0
QUEUE_LIMIT = 1000


def _message(change: AppliedChange) -> ServerSentEventMessage:
    data = {"revision": change.last_revision, "first_revision": change.first_revision,
            "change_id": str(change.change_id), "scopes": change.scopes, "keys": change.keys}
    return ServerSentEventMessage(data=msgspec.json.encode(data).decode(), event="change",
                                  id=str(change.last_revision))


async def follow(service: SettingsService, since: int) -> AsyncGenerator[ServerSentEventMessage, None]:
    """Backlog from the log, then live changes; a watcher that falls behind (its queue
    overflows) re-reads from the log instead of losing events."""
    queue: asyncio.Queue[AppliedChange] = asyncio.Queue(QUEUE_LIMIT)
    overflowed = False

    def on_change(change: AppliedChange) -> None:
        nonlocal overflowed
        try:
            queue.put_nowait(change)
        except asyncio.QueueFull:
            overflowed = True

    unsubscribe = service.subscribe(on_change)
    sent = since
    try:
        while True:
            while sent < service.revision or overflowed:
                overflowed = False
                while not queue.empty():
                    queue.get_nowait()
                for change in await service.changes_between(sent, service.revision):
                    yield _message(change)
                    sent = change.last_revision
            try:
                change = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ServerSentEventMessage(comment="heartbeat")
                continue
            if change.last_revision > sent:
                if change.first_revision != sent + 1:
                    sent_before = sent
                    for missed in await service.changes_between(sent_before, change.first_revision - 1):
                        yield _message(missed)
                yield _message(change)
                sent = change.last_revision
    finally:
        unsubscribe()


@get("/v1/watch", summary="Server-sent events: one per applied change after `since`", tags=["watch"])
async def watch(request: Request[Any, Any, Any], service: Service,
                since: FromQuery[int | None] = None) -> ServerSentEvent:
    if since is None:
        last = request.headers.get("last-event-id")
        since = int(last) if last and last.isdigit() else service.revision
    if since < 0 or since > service.revision:
        raise HTTPException(status_code=400,
                            detail=f"since must be between 0 and the head revision {service.revision}")
    return ServerSentEvent(follow(service, since))


HANDLERS = [watch]
