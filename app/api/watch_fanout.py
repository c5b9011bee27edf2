"""The fan-out behind /v1/watch: one subscription to the service per process, each
change encoded once per audience, and the same bytes written to every watcher that
is live — straight from the subscription callback, through the connection's ASGI
``send`` run to completion on the spot (it does not wait unless the socket's buffer
is full). No task wakes per watcher per change, and no streaming machinery runs.

A watcher is *live* while its own task is idle: its backlog has been sent, nothing
is queued, no write is waiting. Otherwise changes queue (bounded) and its task
sends them in order: after the backlog, after a write that had to wait (a slow
reader: the rest of that write, then the queue), after a gap (a change this process
skipped, read from the log). A watcher whose queue overflows re-reads from the log
instead of losing events; its slowness never delays the others, whose writes do not
wait for it. One timer sends every watcher its heartbeat.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

from litestar.types import Receive, Send

from app.domain.events import AppliedChange
from app.domain.feed import HEARTBEAT, change_message
from app.services.settings import SettingsService

HEARTBEAT_SECONDS = 15.0
QUEUE_LIMIT = 1000
# The bots a watcher may see (None: all), and whether it wants every revision announced.
Audience = tuple[frozenset[str] | None, bool]


class _Rest:
    """The rest of a ``send`` that could not finish at once: awaited by the watcher's
    task (it passes on what the coroutine waits for, as ``yield from`` does)."""

    __slots__ = ("coro", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coro, self.waiting = coro, waiting

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting = self.coro, self.waiting
        while True:
            try:
                value = yield waiting
            except BaseException as exc:  # handed on to the coroutine
                try:
                    waiting = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting = coro.send(value)
                except StopIteration:
                    return


class Watcher:
    __slots__ = ("audience", "blocked", "closed", "live", "overflowed", "overflows", "queue", "send", "sent",
                 "wake")

    def __init__(self, audience: Audience, since: int, send: Send) -> None:
        self.audience = audience
        self.send = send
        self.sent = since  # the last revision this watcher has been told (or told nothing of)
        self.queue: deque[tuple[int, int, bytes]] = deque()  # (first, last revision, message)
        self.overflowed = False
        self.overflows = 0  # times its queue overflowed (it re-read from the log each time)
        self.live = False
        self.closed = False
        self.blocked: Awaitable[None] | None = None
        self.wake = asyncio.Event()

    def offer(self, first: int, last: int, message: bytes) -> None:
        """A change (``last`` 0: a heartbeat); ``message`` b"" when there is nothing to tell."""
        if self.live:
            if last == 0:
                self._write(message)
                return
            if last <= self.sent:
                return
            if first == self.sent + 1:
                self.sent = last
                if message:
                    self._write(message)
                return
            self.live = False  # a gap: the task reads what came between from the log
        if len(self.queue) >= QUEUE_LIMIT:
            self.overflowed = True
            self.overflows += 1
            self.queue.clear()
        else:
            self.queue.append((first, last, message))
        self.wake.set()

    def close(self) -> None:
        self.closed, self.live = True, False
        self.wake.set()

    def _write(self, body: bytes) -> None:
        coro = self.send({"type": "http.response.body", "body": body, "more_body": True})
        try:
            waiting = coro.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return  # written
        except Exception:  # the connection failed under it: the task ends the stream
            self.close()
            return
        # The socket's buffer is full (a slow reader): the task finishes this write, then
        # sends whatever queues meanwhile, in order.
        self.blocked, self.live = _Rest(coro, waiting), False  # type: ignore[arg-type]
        self.wake.set()


class Fanout:
    """Every watcher of one process; created on the first watch."""

    def __init__(self, service: SettingsService) -> None:
        self.watchers: set[Watcher] = set()
        service.subscribe(self._on_change)  # lives as long as the service
        self._heartbeat: asyncio.Task[None] | None = None

    def add(self, watcher: Watcher) -> None:
        self.watchers.add(watcher)
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name="watch-heartbeat")

    def _on_change(self, change: AppliedChange) -> None:
        encoded: dict[Audience, bytes] = {}
        first, last = change.first_revision, change.last_revision
        for watcher in list(self.watchers):  # a failed write may remove one
            message = encoded.get(watcher.audience)
            if message is None:
                # Nothing to tell still moves the watcher on (b""), so it sees no gap.
                message = encoded[watcher.audience] = change_message(change, *watcher.audience) or b""
            watcher.offer(first, last, message)

    async def _beat(self) -> None:
        while self.watchers:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for watcher in list(self.watchers):
                watcher.offer(0, 0, HEARTBEAT)


_FANOUTS: weakref.WeakKeyDictionary[SettingsService, Fanout] = weakref.WeakKeyDictionary()


def fanout_of(service: SettingsService) -> Fanout:
    fanout = _FANOUTS.get(service)
    if fanout is None:
        fanout = _FANOUTS[service] = Fanout(service)
    return fanout


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def follow(service: SettingsService, since: int, audience: Audience, send: Send, receive: Receive) -> None:
    """The body of one watch: backlog from the log, then live changes, gapless, until
    the client goes away."""
    fanout = fanout_of(service)
    watcher = Watcher(audience, since, send)
    fanout.add(watcher)
    gone = asyncio.ensure_future(_until_disconnect(receive))
    gone.add_done_callback(lambda _: watcher.close())
    try:
        while not watcher.closed:
            if watcher.blocked is not None:
                rest, watcher.blocked = watcher.blocked, None
                await rest
            out = await _pending(service, watcher)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
            elif watcher.blocked is None and not watcher.queue and not watcher.closed \
                    and watcher.sent >= service.revision:
                watcher.wake.clear()
                watcher.live = True
                await watcher.wake.wait()
    finally:
        watcher.live = watcher.closed = True
        fanout.watchers.discard(watcher)
        gone.cancel()


async def _pending(service: SettingsService, watcher: Watcher) -> bytes:
    """What the watcher has not been sent yet: from the log (backlog, overflow, a gap),
    and what has queued."""
    audience, out = watcher.audience, []
    while watcher.sent < service.revision or watcher.overflowed:
        watcher.overflowed = False
        watcher.queue.clear()  # what it held is in the log up to the revision read next
        for change in await service.changes_with_events(watcher.sent, service.revision):
            if (message := change_message(change, *audience)) is not None:
                out.append(message)
            watcher.sent = change.last_revision
    while watcher.queue and not watcher.overflowed:
        first, last, message = watcher.queue.popleft()
        if last == 0:
            out.append(message)  # heartbeat
        elif last > watcher.sent:
            if first != watcher.sent + 1:  # a change this process skipped: read it from the log
                missed = await service.changes_with_events(watcher.sent, first - 1)
                out.extend(change_message(c, *audience) or b"" for c in missed)
            out.append(message)
            watcher.sent = last
    return b"".join(out)
