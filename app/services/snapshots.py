"""Whole-state snapshots of the log: written every ``snapshot_every`` revisions so a
point-in-time read replays at most that many events from the nearest one."""

from __future__ import annotations

import asyncio
import time

import structlog

from app.store import history, reader
from app.store.database import Database

log = structlog.get_logger("botsettings.service")
DEFAULT_SNAPSHOT_EVERY = 10_000


class Snapshots:
    """Owns: deciding when a snapshot is due and writing it (one process at a time)."""

    def __init__(self, db: Database, every: int = DEFAULT_SNAPSHOT_EVERY) -> None:
        self._db = db
        self.every = every
        self._last: int | None = None  # revision of the newest snapshot this process knows of
        self._task: asyncio.Task[None] | None = None

    async def write_if_due(self) -> int | None:
        """Write a whole-state snapshot at the head when it is ``every`` revisions or more
        past the last one; returns its revision, or None if none was due."""
        async with self._db.write_snapshot() as conn:
            if not await history.try_snapshot_lock(conn):
                return None  # another process is writing one
            at = await reader.head(conn)
            last = await history.last_snapshot_revision(conn)
            if self.every <= 0 or at - last < self.every:
                self._last = last
                return None
            started = time.perf_counter()
            # Built from the previous snapshot and the log, not the projection: a
            # snapshot must be as trustworthy as the log it stands for.
            await history.write_snapshot(conn, at, await history.whole_state_at(conn, at, at, use_projection=False))
        self._last = at
        log.info("snapshot.written", revision=at, previous=last, seconds=round(time.perf_counter() - started, 3))
        return at

    async def after_change(self, at: int) -> None:
        """Called after each applied change; costs a query only once per process and then
        once per ``every`` revisions. A failure here never fails the change."""
        if self.every <= 0:
            return
        try:
            if self._last is None:
                async with self._db.read() as conn:
                    self._last = await history.last_snapshot_revision(conn)
            if at - self._last >= self.every:
                await self.write_if_due()
        except Exception:
            log.exception("snapshot.failed", head=at)

    def after_change_soon(self, at: int) -> None:
        """:meth:`after_change` without making the change's caller wait: a snapshot
        replays up to ``every`` events, and the writer whose change crosses the
        threshold should not pay for it. One at a time; a change that finds one
        running leaves it to the next change (or to the housekeeping job)."""
        if self.every <= 0 or (self._last is not None and at - self._last < self.every):
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.after_change(at), name="settings-snapshot")

    async def settle(self) -> None:
        """Wait for a snapshot started by :meth:`after_change_soon` (tests, shutdown)."""
        if self._task is not None:
            await self._task
