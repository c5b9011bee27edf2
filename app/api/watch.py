"""/v1/watch: server-sent events, one per applied change, for processes that do not
talk to PostgreSQL. Resume with `?since=REV` (or the Last-Event-ID header)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.domain.access import Principal, sees_scope
from app.domain.events import AppliedChange
from app.domain.input_checks import MAX_INT
from app.http.auth import principal_of
from app.http.deps import Service
from app.http.request import last_event_id, query_int
from app.services.settings import SettingsService

HEARTBEAT_SECONDS = 15.0
QUEUE_LIMIT = 1000


def _message(change: AppliedChange, principal: Principal | None = None) -> ServerSentEventMessage | None:
    """The notice of a change, as far as ``principal`` may see it: a token limited to
    some bots hears of changes to its bots and the global scope only; when a change
    also touched a bot it may not see, that scope is left out and the keys withheld
    (they cannot be told apart by scope). ``None``: nothing to tell this watcher."""
    scopes, keys = change.scopes, change.keys
    if principal is not None and principal.bots is not None:
        scopes = [s for s in change.scopes if sees_scope(principal, s)]
        if not scopes:
            return None
        if len(scopes) < len(change.scopes):
            keys = []
    data = {"revision": change.last_revision, "first_revision": change.first_revision,
            "change_id": str(change.change_id), "scopes": scopes, "keys": keys}
    return ServerSentEventMessage(data=msgspec.json.encode(data).decode(), event="change",
                                  id=str(change.last_revision))


async def follow(service: SettingsService, since: int,
                 principal: Principal | None = None) -> AsyncGenerator[ServerSentEventMessage, None]:
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
                    if (message := _message(change, principal)) is not None:
                        yield message
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
                        if (message := _message(missed, principal)) is not None:
                            yield message
                if (message := _message(change, principal)) is not None:
                    yield message
                sent = change.last_revision
    finally:
        unsubscribe()


@get("/v1/watch", summary="Server-sent events: one per applied change after `since`", tags=["watch"])
async def watch(request: Request[Any, Any, Any], service: Service,
                since_: Annotated[str | None, QueryParameter(name="since")] = None) -> ServerSentEvent:
    since = query_int(since_, "since", -1, 0, MAX_INT) if since_ else None
    if since is None:
        last = last_event_id(request)
        since = last if last is not None else service.revision
    if since < 0 or since > service.revision:
        raise HTTPException(status_code=400,
                            detail=f"since must be between 0 and the head revision {service.revision}")
    return ServerSentEvent(follow(service, since, principal_of(request)))


HANDLERS = [watch]
