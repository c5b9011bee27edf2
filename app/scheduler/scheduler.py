"""The leader's scheduler: APScheduler 3 (AsyncIOScheduler) with one job per catalogue
entry, kept in step with the settings.

Every applied change reaches :meth:`JobScheduler.on_change` (a subscriber of the read model)
in the same loop iteration, whatever made it — the API, a CLI in another process,
a rollback — and the jobs are reconciled with the catalogue there and then: new
bots get a job, removed ones lose it, a changed interval moves the next run.
The leader publishes its schedule (table job_schedule) so that every process and
the CLI can show next runs, and a new leader continues it after a failover.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.domain.events import AppliedChange
from app.domain.jobs import INTERVAL_KEYS, ScheduleEntry, next_run_after_change
from app.scheduler.scheduled_changes import ScheduledChangeApplier
from app.services.job_runner import JobRunner
from app.services.jobs import JobsService

log = structlog.get_logger("botsettings.scheduler")
RECONCILE_SECONDS = 5.0  # a safety net: a reload of the whole state notifies no subscriber


class JobScheduler:
    def __init__(self, jobs: JobsService, runner: JobRunner, applier: ScheduledChangeApplier, identity: str, *,
                 check_seconds: float = 1.0) -> None:
        self.jobs = jobs
        self.settings = jobs.settings
        self.catalogue = jobs.catalogue
        self.runner = runner
        self.applier = applier
        self.identity = identity
        # Changes scheduled by other processes NOTIFY; the leader wakes its applier at once.
        self.election = jobs.leader_election(identity, on_elected=self._lead, on_deposed=self._step_down,
                                             check_seconds=check_seconds, on_scheduled=self.wake_applier)
        self._aps: AsyncIOScheduler | None = None
        self._intervals: dict[str, float] = {}  # job id → seconds, as scheduled
        self._anchors: dict[str, datetime] = {}  # job id → last run (or when it was scheduled)
        self._revisions: dict[str, int] = {}
        self._handlers: dict[str, str] = {}  # job id → handler description, as published
        self._bots: list[str] = []  # known bots at the last reconcile
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def is_leader(self) -> bool:
        return self.election.is_leader and self._aps is not None

    async def start(self) -> None:
        self._unsubscribe = self.settings.subscribe(self.on_change)
        await self.election.start()

    async def stop(self) -> None:
        """Stop scheduling and release leadership (another process takes over at once)."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        await self.election.stop()

    def next_run(self, job_id: str) -> datetime | None:
        job = self._aps.get_job(job_id) if self._aps else None
        return job.next_run_time if job else None

    def wake_applier(self) -> None:
        if self.is_leader:
            self.applier.wake.set()

    # -- leadership ------------------------------------------------------------------
    async def _lead(self) -> None:
        published = await self.jobs.take_over(self.identity)
        self._aps = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self._aps.start()
        self._intervals.clear()
        self._anchors.clear()
        self.reconcile(published)
        self._tasks = [asyncio.create_task(coro, name=name) for name, coro in (
            ("scheduler-publish", self._publish_loop()), ("scheduler-reconcile", self._reconcile_loop()),
            ("scheduled-changes", self.applier.run()))]

    async def _step_down(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=False)
        await self.runner.close()

    # -- following the settings ------------------------------------------------------------
    def on_change(self, change: AppliedChange) -> None:
        """Reconcile when the change can move a job: an interval key, or a bot that
        appeared or disappeared. Other changes leave every job where it is."""
        if self._aps is None:
            return
        bots = self.settings.known_bots()
        if INTERVAL_KEYS.intersection(change.keys) or bots != self._bots:
            self.reconcile()

    def reconcile(self, published: dict[str, ScheduleEntry] | None = None) -> None:
        """Make the scheduled jobs match the catalogue (sync: no await between reading
        the settings and rescheduling)."""
        aps = self._aps
        if aps is None:
            return
        now = datetime.now(UTC)
        self._bots = self.settings.known_bots()
        handlers = {spec.id: (spec, self.catalogue.handler(spec)) for spec in self.catalogue.jobs()}
        wanted = {job_id: spec for job_id, (spec, handler) in handlers.items() if handler is not None}
        for job_id, (_, handler) in handlers.items():
            if handler is not None and self._handlers.get(job_id) != handler.description:
                self._handlers[job_id] = handler.description
                self._dirty.set()
        for job in aps.get_jobs():
            if job.id not in wanted:
                job.remove()
                self._intervals.pop(job.id, None)
                self._anchors.pop(job.id, None)
                log.info("job.unscheduled", job_id=job.id)
        for job_id, spec in wanted.items():
            seconds = self.catalogue.interval_seconds(spec)
            interval = timedelta(seconds=seconds)
            self._revisions[job_id] = spec.revision
            if job_id not in self._intervals:
                anchor = now
                entry = (published or {}).get(job_id)
                if entry is not None and entry.next_run_at is not None:
                    # Continue the previous leader's schedule rather than start it over.
                    anchor = entry.next_run_at - timedelta(seconds=entry.interval_seconds)
                self._anchors[job_id] = anchor
                first = next_run_after_change(anchor, interval, now)
                aps.add_job(self._fire, IntervalTrigger(seconds=seconds, start_date=first, timezone=UTC),
                            id=job_id, args=[job_id], next_run_time=first, replace_existing=True)
                log.info("job.scheduled", job_id=job_id, interval_seconds=seconds, next_run=first.isoformat(),
                         source=spec.interval_source)
            elif self._intervals[job_id] != seconds:
                following = next_run_after_change(self._anchors[job_id], interval, now)
                aps.modify_job(job_id, trigger=IntervalTrigger(seconds=seconds, start_date=following, timezone=UTC),
                               next_run_time=following)
                log.info("job.rescheduled", job_id=job_id, interval_seconds=seconds, was=self._intervals[job_id],
                         next_run=following.isoformat(), source=spec.interval_source, revision=spec.revision)
            else:
                continue
            self._intervals[job_id] = seconds
            self._dirty.set()

    async def _fire(self, job_id: str) -> None:
        if not self.election.is_leader:
            return
        now = datetime.now(UTC)
        self._anchors[job_id] = now
        self._dirty.set()
        try:
            spec = self.catalogue.find(job_id)
        except Exception:
            return  # removed since it was due
        if self.catalogue.handler(spec) is None:
            return
        await self.runner.run(spec, "schedule", scheduled_for=now)

    async def _publish_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            aps = self._aps
            if aps is None:
                return
            entries: list[dict[str, Any]] = [
                {"job_id": job.id, "next_run_at": job.next_run_time, "interval_seconds": self._intervals[job.id],
                 "settings_revision": self._revisions.get(job.id, 0), "leader": self.identity,
                 "handler": self._handlers.get(job.id, "")}
                for job in aps.get_jobs() if job.id in self._intervals]
            try:
                await self.jobs.publish_schedule(entries)
            except Exception as exc:
                log.warning("schedule.publish_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1)
                self._dirty.set()

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_SECONDS)
            self.reconcile()
            self._dirty.set()  # next runs move as jobs fire
