"""JobsService: maintenance jobs, their runs and schedule, and scheduled setting
changes — what the API, the CLI, the page and the scheduler (app/scheduler) call.
Scheduled changes are written through SettingsService.apply, with their claim in
the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import msgspec
import structlog

from app import metrics
from app.domain import scheduled as domain
from app.domain.errors import BotSettingsError, Conflict, FieldError, NotFound, ValidationFailed
from app.domain.events import ChangeResult
from app.domain.jobs import JobRun, ScheduleEntry, next_run_after_change
from app.domain.proposals import bypass_note, check_direct_write
from app.domain.scheduled import AlreadySettled, ScheduledChange
from app.domain.scopes import Scope, parse_scope
from app.services.job_catalogue import JobCatalogue
from app.services.job_runner import JobRunner
from app.services.settings import SettingsService
from app.store import scheduling
from app.store.database import Connection, Database
from app.store.leadership import LeaderElection
from app.store.schema import SCHEDULED_CHANNEL

log = structlog.get_logger("botsettings.scheduled")
MAX_RUNS = 1000


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    job: str
    bot: str | None
    trigger: str  # "interval"
    interval_minutes: float
    interval_seconds: float
    interval_source: str  # bot | global | yaml | env | default | config
    interval_key: str | None
    revision: int
    handler: str  # "no handler" when none is configured: the job never runs
    next_run: datetime | None
    last_run: JobRun | None


class JobsView(msgspec.Struct, frozen=True, kw_only=True):
    scheduler: str  # on | off (in this process)
    leader: bool  # this process runs the jobs
    leader_identity: str | None  # who published the schedule
    revision: int
    jobs: list[JobView]


class RunningScheduler(Protocol):
    """What this service needs of the process's scheduler (app/scheduler), when it runs one."""

    @property
    def is_leader(self) -> bool: ...

    def next_run(self, job_id: str) -> datetime | None: ...

    def wake_applier(self) -> None: ...


class JobsService:
    """Owns: the job catalogue as the settings say now, job runs (manual and scheduled),
    the published schedule, and scheduled changes (create, list, cancel, apply when due)."""

    def __init__(self, db: Database, settings: SettingsService, catalogue: JobCatalogue, runner: JobRunner,
                 scheduler_enabled: bool = True) -> None:
        self._db = db
        self.settings = settings
        self.catalogue = catalogue
        self.runner = runner
        self.scheduler_enabled = scheduler_enabled
        self.scheduler: RunningScheduler | None = None  # set while this process runs a scheduler

    # -- jobs --------------------------------------------------------------------------
    async def jobs(self) -> JobsView:
        specs = self.catalogue.jobs()
        async with self._db.read() as conn:
            published = await scheduling.schedule(conn)
            last = await scheduling.last_runs(conn)
            now = await scheduling.now(conn)
        leading = self.scheduler is not None and self.scheduler.is_leader
        views = []
        for spec in specs:
            seconds = self.catalogue.interval_seconds(spec)
            entry = published.get(spec.id)
            next_run: datetime | None = None
            if leading or not published:
                # This process's own view: it leads, or no leader has published a schedule.
                local = self.catalogue.handler(spec)
                handler = local.description if local else None
                if local is not None and leading and self.scheduler is not None:
                    next_run = self.scheduler.next_run(spec.id)
            else:
                # The leader's view: its handlers are the ones that run (the CLI may lack its environment).
                handler = entry.handler if entry else None
                if entry is not None and entry.next_run_at is not None:
                    next_run = entry.next_run_at
                    if entry.interval_seconds != seconds:
                        # The leader is rescheduling it right now, by the same rule.
                        anchor = entry.next_run_at - timedelta(seconds=entry.interval_seconds)
                        next_run = next_run_after_change(anchor, timedelta(seconds=seconds), now)
            views.append(JobView(
                id=spec.id, job=spec.name, bot=spec.bot, trigger="interval", interval_minutes=spec.interval_minutes,
                interval_seconds=seconds, interval_source=spec.interval_source, interval_key=spec.interval_key,
                revision=spec.revision, handler=handler or "no handler", next_run=next_run,
                last_run=last.get(spec.id)))
        identities = {e.leader for e in published.values()}
        return JobsView(scheduler="on" if self.scheduler is not None else "off", leader=leading,
                        leader_identity=identities.pop() if len(identities) == 1 else None,
                        revision=self.settings.revision, jobs=views)

    async def runs(self, job_id: str, limit: int = 50) -> list[JobRun]:
        self.catalogue.find(job_id)
        async with self._db.read() as conn:
            return await scheduling.runs_of(conn, job_id, max(1, min(limit, MAX_RUNS)))

    async def run_now(self, job_id: str, wait: bool = True) -> JobRun:
        """Run a job now, in this process, whoever leads (an operator asked for it)."""
        spec = self.catalogue.find(job_id)
        run, task = await self.runner.launch(spec, "manual")
        return await task if wait else run

    # -- scheduled changes ---------------------------------------------------------------
    async def schedule_change(self, scope: Scope, patch: dict[str, Any], *, apply_at: datetime, reason: str,
                              actor: str, bypass: str | None = None) -> ScheduledChange:
        # The approval policy is checked now: the scheduler applies it later without asking.
        check_direct_write(self.settings.approval, [scope], bypass)
        if bypass is not None:
            reason = f"{reason} ({bypass_note(actor, bypass)})" if reason else bypass_note(actor, bypass)
        async with self._db.write() as conn:
            now = await scheduling.now(conn)
            canonical = domain.validate(scope, patch, actor=actor, reason=reason, apply_at=apply_at, now=now)
            change = await scheduling.insert_scheduled(conn, scope=scope, patch=canonical, reason=reason,
                                                       actor=actor, apply_at=apply_at)
        if self.scheduler is not None:
            self.scheduler.wake_applier()
        return change

    async def scheduled_changes(self, status: str | None = None, limit: int = 100) -> list[ScheduledChange]:
        if status is not None and status not in set(domain.ScheduledStatus):
            raise ValidationFailed([FieldError(key="status", message=f"no status '{status}': use one of "
                                                                     f"{', '.join(domain.ScheduledStatus)}")])
        async with self._db.read() as conn:
            return await scheduling.list_scheduled(conn, status, max(1, min(limit, MAX_RUNS)))

    async def scheduled_change(self, change_id: uuid.UUID) -> ScheduledChange:
        async with self._db.read() as conn:
            change = await scheduling.get_scheduled(conn, change_id)
        if change is None:
            raise NotFound(f"no scheduled change {change_id}", id=str(change_id))
        return change

    async def cancel_scheduled(self, change_id: uuid.UUID, actor: str) -> ScheduledChange:
        async with self._db.write() as conn:
            cancelled = await scheduling.settle(conn, change_id, "cancelled", by=actor)
            if cancelled is None:
                existing = await scheduling.get_scheduled(conn, change_id)
        if cancelled is not None:
            return cancelled
        if existing is None:
            raise NotFound(f"no scheduled change {change_id}", id=str(change_id))
        raise Conflict(f"scheduled change {change_id} is {existing.status}, not pending: it cannot be cancelled",
                       id=str(change_id), state=existing.status)

    # -- for the scheduler (the leader) -----------------------------------------------------
    async def due_scheduled(self) -> tuple[list[ScheduledChange], float | None]:
        """Pending changes whose time has come, and seconds until the next (None: none)."""
        async with self._db.read() as conn:
            return await scheduling.due_scheduled(conn)

    async def apply_scheduled(self, change: ScheduledChange, applier: str) -> bool:
        """Apply one due change; True if this call applied it (False: someone else had,
        it was cancelled, or it failed validation and was marked failed).

        The claim — marking it applied — runs inside the change's own transaction, so a
        second applier, even a leader that has just been deposed, cannot apply it again."""
        async def claim(conn: Connection, result: ChangeResult) -> None:
            await scheduling.claim_applied(conn, change.id, result, applier)

        try:
            request = domain.change_request(parse_scope(change.scope), change.patch, actor=change.actor,
                                            reason=change.reason)
            result = await self.settings.apply(request, in_transaction=claim)
        except AlreadySettled:
            log.info("scheduled_change.already_settled", id=str(change.id))
            return False
        except BotSettingsError as exc:
            # Validated when scheduled, but no longer valid: nothing was written.
            reason = "; ".join([exc.message, *(f"{e.key}: {e.message}" for e in exc.errors
                                               if e.message != exc.message)])
            async with self._db.write() as conn:
                settled = await scheduling.settle(conn, change.id, "failed", error=reason, by=applier)
            if settled:
                metrics.SCHEDULED_CHANGES.labels("failed").inc()
                log.warning("scheduled_change.failed", id=str(change.id), scope=change.scope, error=reason)
            return False
        metrics.SCHEDULED_CHANGES.labels("applied").inc()
        async with self._db.read() as conn:
            stored = await scheduling.get_scheduled(conn, change.id)
        log.info("scheduled_change.applied", id=str(change.id), scope=change.scope, changed=result.changed,
                 change_id=str(result.change_id) if result.change_id else None,
                 delay_seconds=stored.delay_seconds if stored else None)
        return True

    async def take_over(self, leader: str) -> dict[str, ScheduleEntry]:
        """A new leader's first step: the schedule its predecessor published, and the
        scheduled runs the predecessor left running marked failed."""
        async with self._db.write() as conn:
            published = await scheduling.schedule(conn)
            if abandoned := await scheduling.abandon_runs(conn, leader):
                log.warning("job.runs_abandoned", runs=abandoned)
        return published

    async def publish_schedule(self, entries: list[dict[str, Any]]) -> None:
        async with self._db.write() as conn:
            await scheduling.publish_schedule(conn, entries)

    def leader_election(self, identity: str, *, on_elected: Callable[[], Awaitable[None]],
                        on_deposed: Callable[[], Awaitable[None]], check_seconds: float,
                        on_scheduled: Callable[[], None]) -> LeaderElection:
        """A candidacy for leadership on a connection of its own (an advisory lock lives
        in a session); its connection also hears when a change is scheduled elsewhere."""
        return LeaderElection(self._db.dsn, identity, on_elected=on_elected, on_deposed=on_deposed,
                              check_seconds=check_seconds, listen=(SCHEDULED_CHANNEL, on_scheduled))
