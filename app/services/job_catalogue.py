"""The jobs a process knows about right now: settings-driven maintenance jobs (from the
resolver, so every layer counts) and the service's own housekeeping jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from app.domain import jobs as domain
from app.domain.jobs import JobSpec
from app.resolver import Resolver
from app.scheduler.handlers import Handler, Handlers


class Housekeeping(msgspec.Struct, frozen=True, kw_only=True):
    """A job of the service itself: fixed interval (from configuration), built-in action."""

    name: str
    interval_minutes: float
    action: Callable[[], Awaitable[Any]]


class JobCatalogue:
    def __init__(self, resolver: Resolver, handlers: Handlers, minute_seconds: float = 60.0) -> None:
        self.resolver = resolver
        self.handlers = handlers
        self.minute_seconds = minute_seconds
        self.housekeeping: dict[str, Housekeeping] = {}

    def add_housekeeping(self, job: Housekeeping) -> None:
        """Register a housekeeping job (built-in handler, one attempt per run)."""
        self.housekeeping[job.name] = job
        self.handlers.register(job.name, lambda _context: job.action(), "built-in", attempts=1)

    def jobs(self) -> list[JobSpec]:
        resolver = self.resolver
        bots = {slug: resolver.snapshot(slug) for slug in resolver.known_bots()}
        specs = domain.catalogue(bots, resolver.global_snapshot())
        specs.extend(JobSpec(id=h.name, name=h.name, bot=None, interval_minutes=h.interval_minutes,
                             interval_source="config", interval_key=None, revision=resolver.revision)
                     for h in self.housekeeping.values())
        return specs

    def find(self, job_id: str) -> JobSpec:
        return domain.find(self.jobs(), job_id)

    def interval_seconds(self, spec: JobSpec) -> float:
        return spec.interval_minutes * self.minute_seconds

    def parameters(self, spec: JobSpec) -> tuple[dict[str, Any], int]:
        """The run's parameters, all read from one snapshot, and that snapshot's revision."""
        resolver = self.resolver
        if spec.name == domain.SUMMARIZATION and spec.bot is not None:
            snap = resolver.snapshot(spec.bot)
            return domain.summarization_parameters(snap), snap.revision
        if spec.name == domain.PROFILE_MAINTENANCE:
            # The resolver applies changes synchronously: these snapshots share one revision.
            glob = resolver.global_snapshot()
            bots = {slug: resolver.snapshot(slug) for slug in resolver.known_bots()}
            return domain.profile_parameters(glob, bots), glob.revision
        return {"revision": resolver.revision}, resolver.revision

    def handler(self, spec: JobSpec) -> Handler | None:
        return self.handlers.for_job(spec.name)
