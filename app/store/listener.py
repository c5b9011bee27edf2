"""Keeping a process current: one dedicated LISTEN connection, catch-up from the log.

A NOTIFY carries a committed batch (app/store/notify_payload.py). When the batch
follows the last applied revision exactly, the listener applies it from the
payload, without a query. Otherwise — the payload carried only the revision range
(too big), or there is a gap — it catches up from the log: every event after the
last applied revision, up to the head read in the same snapshot, so changes arrive
whole and in order. The same catch-up runs after every (re)connect, so a lost
notification loses nothing. This process's own batches are applied by the writer
as soon as they commit (:meth:`Listener.apply_committed`), under the same lock.
While the connection is down the listener reconnects with backoff, re-reads on a
bounded interval through the pool, and marks the resolver stale until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

import asyncpg
import structlog

from app.domain.events import Event
from app.domain.read_model import Resolver
from app.store import notify_payload, reader
from app.store.database import Database, begin_snapshot
from app.store.errors import is_unavailable, unavailable_on_connection_loss
from app.store.schema import NOTIFY_CHANNEL

log = structlog.get_logger("botsettings.listener")

APPLICATION_NAME = "botsettings-listener"  # how operators (and tests) find the LISTEN connection
# Past this many events behind, reloading the projection beats replaying the log.
RELOAD_THRESHOLD = 20_000


async def catch_up(db: Database, resolver: Resolver) -> int:
    """Apply what the log holds after ``resolver.revision``; returns events applied."""
    # A lost connection here is the service's Unavailable (503), like any unit of work:
    # a writer refreshes through this after its commit.
    async with unavailable_on_connection_loss(), db.engine.connect() as conn:
        await begin_snapshot(conn, read_only=True)
        head = await reader.head(conn)
        if head == resolver.revision:
            return 0
        if head - resolver.revision > RELOAD_THRESHOLD or head < resolver.revision:
            # A reload reads the whole projection: in a fresh snapshot of its own.
            await conn.rollback()
            await begin_snapshot(conn, read_only=True)
            at, state = await reader.all_current(conn)
            resolver.load(at, state)
            log.info("state.reloaded", revision=at)
            return at
        events = await reader.events_between(conn, resolver.revision, head)
    resolver.apply(events)
    return len(events)


async def apply_batch(db: Database, resolver: Resolver, first: int, events: list[Event]) -> int:
    """Apply a committed batch (revisions ``first``…) if it follows what ``resolver``
    holds; catch up from the log if there is a gap. Returns events applied."""
    if not events or events[-1].revision <= resolver.revision:
        return 0  # already applied (our own batch, heard back; or caught up past it)
    if first > resolver.revision + 1:
        return await catch_up(db, resolver)  # a gap: what came between is in the log
    resolver.apply(events)
    return len(events)


class Listener:
    def __init__(self, db: Database, resolver: Resolver, *, dsn: str | None = None, poll_interval: float = 1.0,
                 max_backoff: float = 5.0) -> None:
        self.db = db
        self.dsn = dsn or db.dsn
        self.resolver = resolver
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self._up = asyncio.Event()
        self.last_error: str | None = None
        self.reconnects = 0
        self.notified = 0  # the highest revision a NOTIFY announced
        self._wake = asyncio.Event()
        self._payloads: deque[str] = deque()  # NOTIFY payloads not yet handled, in commit order
        self.from_payload = 0  # batches applied from a payload, and caught up from the log
        self.from_log = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="settings-listener")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            # Bounded: a stop must never hang the process's shutdown (a teardown was seen
            # waiting here indefinitely once); the connection is closed below regardless.
            done, _ = await asyncio.wait({self._task}, timeout=5)
            if not done:
                log.warning("listener.stop_timed_out")
        await self._close()

    async def refresh(self) -> int:
        """Catch up now (one at a time); used after local writes for read-your-writes."""
        async with self._lock:
            return await catch_up(self.db, self.resolver)

    async def apply_committed(self, first: int, events: list[Event]) -> None:
        """This process's own batch, just committed: apply it now (read-your-writes)."""
        async with self._lock:
            await apply_batch(self.db, self.resolver, first, events)

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    async def wait_connected(self) -> None:
        await self._up.wait()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._connect()
                backoff = 0.1
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_unavailable(exc) and not isinstance(exc, asyncpg.PostgresError):
                    log.exception("listener.failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
            await self._close()
            if self.connected:
                log.warning("listener.disconnected", error=self.last_error)
            self._up.clear()
            self.resolver.set_stale(True)
            await self._poll_for(backoff)
            backoff = min(backoff * 2, self.max_backoff)
            self.reconnects += 1

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=5, server_settings={"application_name": APPLICATION_NAME})
        self._conn = conn
        conn.add_termination_listener(lambda _: self._wake.set())
        self._payloads.clear()  # the catch-up below covers them
        await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        # Subscribe first, then catch up: whatever commits in between is read, not lost.
        await self.refresh()
        self._up.set()
        self.last_error = None
        self.resolver.set_stale(False)
        log.info("listener.connected", revision=self.resolver.revision)

    def _on_notify(self, *args: Any) -> None:
        self._payloads.append(args[3])
        self._wake.set()

    async def _handle_payloads(self) -> None:
        """Apply what the NOTIFYs received so far carry, in order; one catch-up from the
        log for whatever they do not (a range-only payload, a gap, a foreign payload)."""
        async with self._lock:
            behind = False
            while self._payloads:
                payload = notify_payload.decode(self._payloads.popleft())
                if payload is None:
                    behind = True
                    continue
                self.notified = max(self.notified, payload.last)
                if behind or payload.last <= self.resolver.revision:
                    continue
                events = notify_payload.events_in(payload)
                if events is None or payload.first != self.resolver.revision + 1:
                    behind = True
                    continue
                self.resolver.apply(events)
                self.from_payload += 1
            if behind:
                self.from_log += 1
                await catch_up(self.db, self.resolver)

    @property
    def lag(self) -> int:
        """Revisions announced by NOTIFY that this process has not applied yet."""
        return max(0, self.notified - self.resolver.revision)

    async def _follow(self) -> None:
        assert self._conn is not None
        while True:
            quiet = False
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the wake-up does, and stop() then waited forever.
                async with asyncio.timeout(self.poll_interval * 5):
                    await self._wake.wait()
            except TimeoutError:
                # No news for a while: prove the connection is alive (a dead TCP peer
                # sends no termination), and catch up in case a NOTIFY went missing.
                await self._conn.execute("SELECT 1", timeout=self.poll_interval * 2)
                quiet = True
            self._wake.clear()
            if self._conn.is_closed():
                raise ConnectionError("the LISTEN connection closed")
            if quiet:
                await self.refresh()
            else:
                await self._handle_payloads()

    async def _poll_for(self, seconds: float) -> None:
        """While disconnected: keep the state fresh through the pool, every poll interval."""
        deadline = time.monotonic() + seconds
        while True:
            with contextlib.suppress(Exception):
                await self.refresh()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(self.poll_interval, remaining))

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
