"""/v1/watch: server-sent events, one per applied change, for processes that do not
talk to PostgreSQL. Resume with `?since=REV` (or the Last-Event-ID header).

Many followers watch one process (every platform process runs a client), so a change
is fanned out once: one subscription to the service per process, each change encoded
once per audience (every bot, or the bots one token is limited to) and handed to each
watcher's bounded queue. A watcher that falls behind (its queue overflows) re-reads
from the log instead of losing events; one timer sends every watcher its heartbeat.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Request, get
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from app.domain.events import AppliedChange
from app.domain.feed import HEARTBEAT, change_message
from app.domain.input_checks import MAX_INT
from app.http.auth import principal_of
from app.http.deps import Service
from app.http.request import last_event_id, query_int
from app.services.settings import SettingsService

HEARTBEAT_SECONDS = 15.0
QUEUE_LIMIT = 1000
# The bots a watcher may see (None: all), and whether it wants every revision announced.
Audience = tuple[frozenset[str] | None, bool]


class Watcher:
    __slots__ = ("audience", "overflowed", "queue", "wake")

    def __init__(self, audience: Audience) -> None:
        self.audience = audience
        self.queue: deque[tuple[int, int, bytes]] = deque()  # (first, last revision, message)
        self.overflowed = False
        self.wake = asyncio.Event()

    def offer(self, first: int, last: int, message: bytes) -> None:
        if len(self.queue) >= QUEUE_LIMIT:
            self.overflowed = True
            self.queue.clear()
        else:
            self.queue.append((first, last, message))
        self.wake.set()


class Fanout:
    """Every watcher of one process; created on the first watch."""

    def __init__(self, service: SettingsService) -> None:
        self.watchers: set[Watcher] = set()
        service.subscribe(self._on_change)  # lives as long as the service
        self._heartbeat: asyncio.Task[None] | None = None

    def add(self, audience: Audience) -> Watcher:
        watcher = Watcher(audience)
        self.watchers.add(watcher)
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name="watch-heartbeat")
        return watcher

    def _on_change(self, change: AppliedChange) -> None:
        encoded: dict[Audience, bytes | None] = {}
        for watcher in self.watchers:
            if watcher.audience in encoded:
                message = encoded[watcher.audience]
            else:
                message = encoded[watcher.audience] = change_message(change, *watcher.audience)
            # Nothing to tell still moves the watcher on (b""), so it sees no gap.
            watcher.offer(change.first_revision, change.last_revision, message or b"")

    async def _beat(self) -> None:
        while self.watchers:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for watcher in self.watchers:
                watcher.offer(0, 0, HEARTBEAT)


_FANOUTS: weakref.WeakKeyDictionary[SettingsService, Fanout] = weakref.WeakKeyDictionary()


def fanout_of(service: SettingsService) -> Fanout:
    fanout = _FANOUTS.get(service)
    if fanout is None:
        fanout = _FANOUTS[service] = Fanout(service)
    return fanout


async def follow(service: SettingsService, since: int, audience: Audience) -> AsyncGenerator[bytes, None]:
    """Backlog from the log, then live changes, gapless."""
    fanout = fanout_of(service)
    watcher = fanout.add(audience)
    sent = since
    try:
        while True:
            while sent < service.revision or watcher.overflowed:
                watcher.overflowed = False
                watcher.queue.clear()  # what it held is in the log up to the revision read next
                for change in await service.changes_with_events(sent, service.revision):
                    if (message := change_message(change, *audience)) is not None:
                        yield message
                    sent = change.last_revision
            if not watcher.queue:
                watcher.wake.clear()
                await watcher.wake.wait()
            out = []
            while watcher.queue and not watcher.overflowed:
                first, last, message = watcher.queue.popleft()
                if last == 0:
                    out.append(message)  # heartbeat
                elif last > sent:
                    if first != sent + 1:  # a change this process skipped: read it from the log
                        missed = await service.changes_with_events(sent, first - 1)
                        out.extend(change_message(c, *audience) or b"" for c in missed)
                    out.append(message)
                    sent = last
            if out:
                yield b"".join(out)
    finally:
        fanout.watchers.discard(watcher)


@get("/v1/watch", summary="Server-sent events: one per applied change after `since`", tags=["watch"])
async def watch(request: Request[Any, Any, Any], service: Service,
                since_: Annotated[str | None, QueryParameter(name="since")] = None,
                every_revision: FromQuery[bool] = False) -> Stream:
    since = query_int(since_, "since", -1, 0, MAX_INT) if since_ else None
    if since is None:
        last = last_event_id(request)
        since = last if last is not None else service.revision
    if since < 0 or since > service.revision:
        raise HTTPException(status_code=400,
                            detail=f"since must be between 0 and the head revision {service.revision}")
    audience = (principal_of(request).bots, every_revision)
    return Stream(follow(service, since, audience), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                           # a follower is current once it has applied this revision
                           "X-Settings-Revision": str(service.revision)})


HANDLERS = [watch]
