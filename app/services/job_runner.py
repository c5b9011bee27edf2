"""Running one job once: resolve its parameters, record the run, call the handler
with retries and backoff, record the outcome (table job_runs)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import structlog

from app import metrics
from app.domain.errors import Conflict
from app.domain.jobs import JobRun, JobSpec
from app.services.job_catalogue import JobCatalogue
from app.services.job_handlers import Handler, JobContext, JobFailed, invoke, sleep_backoff
from app.store import scheduling
from app.store.database import Database

log = structlog.get_logger("botsettings.jobs")


class JobRunner:
    def __init__(self, db: Database, catalogue: JobCatalogue, identity: str, *, attempts: int = 3,
                 backoff_seconds: float = 2.0) -> None:
        self._db = db
        self.catalogue = catalogue
        self.identity = identity
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._background: set[asyncio.Task[JobRun]] = set()

    async def launch(self, spec: JobSpec, trigger: str, scheduled_for: datetime | None = None
                     ) -> tuple[JobRun, asyncio.Task[JobRun]]:
        """Record the run as started and start it; returns the record and the task."""
        handler = self.catalogue.handler(spec)
        if handler is None:
            raise Conflict(f"job '{spec.id}' has no handler: register a '{spec.name}' entry point in "
                           "botsettings.jobs or set BOTSETTINGS_JOB_WEBHOOK_URL", job=spec.id)
        parameters, revision = self.catalogue.parameters(spec)
        async with self._db.write() as conn:
            run = await scheduling.start_run(
                conn, job_id=spec.id, job=spec.name, bot=spec.bot, trigger=trigger, scheduled_for=scheduled_for,
                handler=handler.description, runner=self.identity, revision=revision, parameters=parameters)
        task = asyncio.create_task(self._execute(run, handler), name=f"job-run-{run.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return run, task

    async def run(self, spec: JobSpec, trigger: str, scheduled_for: datetime | None = None) -> JobRun:
        _, task = await self.launch(spec, trigger, scheduled_for)
        return await task

    async def _execute(self, run: JobRun, handler: Handler) -> JobRun:
        attempts = handler.attempts or self.attempts
        error: str | None = None
        attempt = 0
        log.info("job.started", job_id=run.job_id, run_id=run.id, trigger=run.trigger,
                 revision=run.settings_revision, handler=handler.description)
        try:
            for attempt in range(1, attempts + 1):
                if attempt > 1:
                    await sleep_backoff(self.backoff_seconds, attempt)
                context = JobContext(run_id=run.id, job_id=run.job_id, job=run.job, bot=run.bot,
                                     parameters=run.parameters, revision=run.settings_revision,
                                     scheduled_for=run.scheduled_for, attempt=attempt)
                try:
                    await invoke(handler, context)
                    error = None
                    break
                except JobFailed as exc:
                    error = str(exc)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                log.warning("job.attempt_failed", job_id=run.job_id, run_id=run.id, attempt=attempt,
                            of=attempts, error=error)
        except asyncio.CancelledError:
            error = "interrupted: the process stopped during the run"
            with contextlib.suppress(Exception):
                await self._finish(run, "failed", attempt, error)
            raise
        return await self._finish(run, "failed" if error else "succeeded", attempt, error)

    async def _finish(self, run: JobRun, status: str, attempts: int, error: str | None) -> JobRun:
        async with self._db.write() as conn:
            done = await scheduling.finish_run(conn, run.id, status=status, attempts=attempts, error=error)
        metrics.JOB_RUNS.labels(run.job, status).inc()
        log.info("job.finished", job_id=run.job_id, run_id=run.id, status=status, attempts=attempts, error=error)
        return done

    async def close(self) -> None:
        """Interrupt runs still going (each is recorded as failed)."""
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(BaseException):
                await task
