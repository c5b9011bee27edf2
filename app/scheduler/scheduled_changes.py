"""Applying scheduled setting changes (the leader does this): a loop that asks the
jobs service for what is due and applies each (JobsService.apply_scheduled), with
the reason and actor it was scheduled with, source ``scheduler``."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.domain.errors import Unavailable
from app.domain.scheduled import ScheduledChange
from app.services.jobs import JobsService

log = structlog.get_logger("botsettings.scheduled")
POLL_SECONDS = 1.0  # how late a change created in another process can be picked up


class ScheduledChangeApplier:
    def __init__(self, jobs: JobsService, identity: str) -> None:
        self.jobs = jobs
        self.identity = identity
        self.wake = asyncio.Event()

    async def apply_due(self) -> float | None:
        """Apply every due change; returns seconds until the next pending one (None: none)."""
        due, wait = await self.jobs.due_scheduled()
        for change in due:
            await self.apply(change)
        return 0.0 if len(due) == 100 else wait

    async def apply(self, change: ScheduledChange) -> bool:
        """Apply one due change; True if this call applied it."""
        return await self.jobs.apply_scheduled(change, self.identity)

    async def run(self) -> None:
        """Until cancelled: apply what is due, then sleep until the next one, a wake-up
        (a change scheduled in this process) or the poll interval, whichever is first."""
        while True:
            try:
                wait = await self.apply_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not isinstance(exc, Unavailable):
                    log.exception("scheduled_change.loop_failed")
                wait = POLL_SECONDS
            timeout = POLL_SECONDS if wait is None else max(0.0, min(wait, POLL_SECONDS))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
            self.wake.clear()
