"""Applying scheduled setting changes (the leader does this): a loop that asks the
jobs service for what is due and applies each (JobsService.apply_scheduled), with
the reason and actor it was scheduled with, source ``scheduler``; in the same loop,
approved change requests whose ``apply_at`` has come (ProposalsService.apply), and
the guards of guarded changes (GuardsService.evaluate)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.domain.errors import Unavailable
from app.domain.scheduled import ScheduledChange
from app.services.guards import GuardsService
from app.services.jobs import JobsService
from app.services.proposals import ProposalsService

log = structlog.get_logger("botsettings.scheduled")
POLL_SECONDS = 1.0  # how late a change created in another process can be picked up


class ScheduledChangeApplier:
    def __init__(self, jobs: JobsService, identity: str, proposals: ProposalsService | None = None,
                 guards: GuardsService | None = None) -> None:
        self.jobs = jobs
        self.identity = identity
        self.proposals = proposals
        self.guards = guards
        self.wake = asyncio.Event()

    async def apply_due(self) -> float | None:
        """Apply every due change; returns seconds until the next pending one (None: none)."""
        due, wait = await self.jobs.due_scheduled()
        for change in due:
            await self.apply(change)
        if len(due) == 100:
            return 0.0
        if self.proposals is not None:
            approved, next_approved = await self.proposals.due()
            for proposal in approved:
                await self.proposals.apply(proposal)
            if len(approved) == 100:
                return 0.0
            wait = next_approved if wait is None else wait if next_approved is None else min(wait, next_approved)
        if self.guards is not None:
            try:
                await self.guards.evaluate()  # at most a poll interval apart while any guard watches
            except Exception as exc:
                if not isinstance(exc, Unavailable):
                    log.exception("guard.evaluation_failed")
        return wait

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
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that lands as the wake-up does (see app/store/listener.py).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
            self.wake.clear()
