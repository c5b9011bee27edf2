"""Applying scheduled setting changes (the leader does this).

Each due change is applied through SettingsService.apply, source ``scheduler``,
with the reason and actor it was scheduled with. The claim — marking it applied —
runs inside that same transaction (app/store/scheduling.claim_applied), so a
second applier, even a leader that has just been deposed, cannot apply it again.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app import metrics
from app.domain.errors import BotSettingsError, Unavailable
from app.domain.events import ChangeResult
from app.domain.scheduled import change_request
from app.domain.scopes import parse_scope
from app.service import SettingsService
from app.store import scheduling
from app.store.errors import is_unavailable
from app.store.scheduling import AlreadySettled, ScheduledChange

log = structlog.get_logger("botsettings.scheduled")
POLL_SECONDS = 1.0  # how late a change created in another process can be picked up


class ScheduledChangeApplier:
    def __init__(self, settings: SettingsService, identity: str) -> None:
        self.settings = settings
        self.identity = identity
        self.wake = asyncio.Event()

    async def apply_due(self) -> float | None:
        """Apply every due change; returns seconds until the next pending one (None: none)."""
        async with self.settings.engine.connect() as conn:
            due, wait = await scheduling.due_scheduled(conn)
        for change in due:
            await self.apply(change)
        return 0.0 if len(due) == 100 else wait

    async def apply(self, change: ScheduledChange) -> bool:
        """Apply one due change; True if this call applied it (False: someone else had,
        it was cancelled, or it failed validation and was marked failed)."""
        async def claim(conn: AsyncConnection, result: ChangeResult) -> None:
            await scheduling.claim_applied(conn, change.id, result, self.identity)

        try:
            request = change_request(parse_scope(change.scope), change.patch, actor=change.actor,
                                     reason=change.reason)
            result = await self.settings.apply(request, in_transaction=claim)
        except AlreadySettled:
            log.info("scheduled_change.already_settled", id=str(change.id))
            return False
        except BotSettingsError as exc:
            # Validated when scheduled, but no longer valid: nothing was written.
            reason = "; ".join([exc.message, *(f"{e.key}: {e.message}" for e in exc.errors
                                               if e.message != exc.message)])
            async with self.settings.engine.begin() as conn:
                settled = await scheduling.settle(conn, change.id, "failed", error=reason, by=self.identity)
            if settled:
                metrics.SCHEDULED_CHANGES.labels("failed").inc()
                log.warning("scheduled_change.failed", id=str(change.id), scope=change.scope, error=reason)
            return False
        metrics.SCHEDULED_CHANGES.labels("applied").inc()
        async with self.settings.engine.connect() as conn:
            stored = await scheduling.get_scheduled(conn, change.id)
        log.info("scheduled_change.applied", id=str(change.id), scope=change.scope, changed=result.changed,
                 change_id=str(result.change_id) if result.change_id else None,
                 delay_seconds=stored.delay_seconds if stored else None)
        return True

    async def run(self) -> None:
        """Until cancelled: apply what is due, then sleep until the next one, a wake-up
        (a change scheduled in this process) or the poll interval, whichever is first."""
        while True:
            try:
                wait = await self.apply_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not (isinstance(exc, Unavailable) or is_unavailable(exc)):
                    log.exception("scheduled_change.loop_failed")
                wait = POLL_SECONDS
            timeout = POLL_SECONDS if wait is None else max(0.0, min(wait, POLL_SECONDS))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
            self.wake.clear()
