"""The jobs a process knows about right now: settings-driven maintenance jobs (from the
resolver, so every layer counts) and the service's own housekeeping jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from app.domain import jobs as domain
from app.domain.jobs import JobSpec
from app.services.job_handlers import Handler, Handlers
from app.services.settings import SettingsService


class Housekeeping(msgspec.Struct, frozen=True, kw_only=True):
    """A job of the service itself: fixed interval (from configuration), built-in action."""

    name: str
    interval_minutes: float
    action: Callable[[], Awaitable[Any]]


class JobCatalogue:
    def __init__(self, settings: SettingsService, handlers: Handlers, minute_seconds: float = 60.0) -> None:
        self.settings = settings
        self.handlers = handlers
        self.minute_seconds = minute_seconds
        self.housekeeping: dict[str, Housekeeping] = {}

    def add_housekeeping(self, job: Housekeeping) -> None:
        """Register a housekeeping job (built-in handler, one attempt per run)."""
        self.housekeeping[job.name] = job
        self.handlers.register(job.name, lambda _context: job.action(), "built-in", attempts=1)

    def jobs(self) -> list[JobSpec]:
        settings = self.settings
        bots = {slug: settings.snapshot(slug) for slug in settings.known_bots()}
        specs = domain.catalogue(bots, settings.global_snapshot())
        specs.extend(JobSpec(id=h.name, name=h.name, bot=None, interval_minutes=h.interval_minutes,
                             interval_source="config", interval_key=None, revision=settings.revision)
                     for h in self.housekeeping.values())
        return specs

    def find(self, job_id: str) -> JobSpec:
        return domain.find(self.jobs(), job_id)

    def interval_seconds(self, spec: JobSpec) -> float:
        return spec.interval_minutes * self.minute_seconds

    def parameters(self, spec: JobSpec) -> tuple[dict[str, Any], int]:
        """The run's parameters, all read from one snapshot, and that snapshot's revision."""
        settings = self.settings
        if spec.name == domain.SUMMARIZATION and spec.bot is not None:
            snap = settings.snapshot(spec.bot)
            return domain.summarization_parameters(snap), snap.revision
        if spec.name == domain.PROFILE_MAINTENANCE:
            # The resolver applies changes synchronously: these snapshots share one revision.
            glob = settings.global_snapshot()
            bots = {slug: settings.snapshot(slug) for slug in settings.known_bots()}
            return domain.profile_parameters(glob, bots), glob.revision
        return {"revision": settings.revision}, settings.revision

    def handler(self, spec: JobSpec) -> Handler | None:
        return self.handlers.for_job(spec.name)
