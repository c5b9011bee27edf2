"""The jobs side of the service layer: what the API and the CLI call for jobs, their
runs, and scheduled setting changes. Writes of settings still go through
SettingsService.apply (the scheduled-change applier calls it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from app.domain import scheduled as domain
from app.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.domain.jobs import next_run_after_change
from app.domain.scopes import Scope
from app.scheduler.catalogue import JobCatalogue
from app.scheduler.runner import JobRunner
from app.scheduler.scheduler import JobScheduler
from app.service import SettingsService
from app.store import scheduling
from app.store.errors import unavailable_on_connection_loss
from app.store.scheduling import JobRun, ScheduledChange

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


class JobsService:
    def __init__(self, settings: SettingsService, catalogue: JobCatalogue, runner: JobRunner,
                 scheduler_enabled: bool = True) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.runner = runner
        self.scheduler_enabled = scheduler_enabled
        self.scheduler: JobScheduler | None = None  # set while this process runs a scheduler

    # -- jobs --------------------------------------------------------------------------
    async def jobs(self) -> JobsView:
        specs = self.catalogue.jobs()
        async with unavailable_on_connection_loss(), self.settings.engine.connect() as conn:
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
                        revision=self.catalogue.resolver.revision, jobs=views)

    async def runs(self, job_id: str, limit: int = 50) -> list[JobRun]:
        self.catalogue.find(job_id)
        async with unavailable_on_connection_loss(), self.settings.engine.connect() as conn:
            return await scheduling.runs_of(conn, job_id, max(1, min(limit, MAX_RUNS)))

    async def run_now(self, job_id: str, wait: bool = True) -> JobRun:
        """Run a job now, in this process, whoever leads (an operator asked for it)."""
        spec = self.catalogue.find(job_id)
        async with unavailable_on_connection_loss():
            run, task = await self.runner.launch(spec, "manual")
            return await task if wait else run

    # -- scheduled changes ---------------------------------------------------------------
    async def schedule_change(self, scope: Scope, patch: dict[str, Any], *, apply_at: datetime, reason: str,
                              actor: str) -> ScheduledChange:
        async with unavailable_on_connection_loss(), self.settings.engine.begin() as conn:
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
        async with unavailable_on_connection_loss(), self.settings.engine.connect() as conn:
            return await scheduling.list_scheduled(conn, status, max(1, min(limit, MAX_RUNS)))

    async def scheduled_change(self, change_id: uuid.UUID) -> ScheduledChange:
        async with unavailable_on_connection_loss(), self.settings.engine.connect() as conn:
            change = await scheduling.get_scheduled(conn, change_id)
        if change is None:
            raise NotFound(f"no scheduled change {change_id}", id=str(change_id))
        return change

    async def cancel_scheduled(self, change_id: uuid.UUID, actor: str) -> ScheduledChange:
        async with unavailable_on_connection_loss(), self.settings.engine.begin() as conn:
            cancelled = await scheduling.settle(conn, change_id, "cancelled", by=actor)
            if cancelled is None:
                existing = await scheduling.get_scheduled(conn, change_id)
        if cancelled is not None:
            return cancelled
        if existing is None:
            raise NotFound(f"no scheduled change {change_id}", id=str(change_id))
        raise Conflict(f"scheduled change {change_id} is {existing.status}, not pending: it cannot be cancelled",
                       id=str(change_id), state=existing.status)
