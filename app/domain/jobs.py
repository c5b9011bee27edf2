"""The maintenance job catalogue, derived from resolved settings. Pure: the caller
passes snapshots (app/resolver.py) and the clock; nothing here waits or reads.

A job's interval and parameters are never copied at creation: every call works
from the snapshot it is given, so a settings change moves the job at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from app.domain.errors import NotFound
from app.domain.resolution import Snapshot

SUMMARIZATION = "history_summarization"
PROFILE_MAINTENANCE = "profile_maintenance"
SUMMARIZATION_INTERVAL = "history_summarization_interval_minutes"
PROFILE_INTERVAL = "profile_maintenance_interval_minutes"
INTERVAL_KEYS = frozenset({SUMMARIZATION_INTERVAL, PROFILE_INTERVAL})

# Summarization knobs passed to every run, as the platform names them.
_SUMMARIZATION_KEYS = {
    "session_gap_seconds": "summarization_session_gap_seconds",
    "min_messages": "summarization_min_messages",
    "batch_size": "summarization_batch_size",
    "batch_concurrency": "summarization_batch_concurrency",
    "skip_low_signal": "summarization_skip_low_signal",
    "min_user_messages": "summarization_min_user_messages",
    "min_content_chars": "summarization_min_content_chars",
    "min_meaningful_turns": "summarization_min_meaningful_turns",
}


class JobSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One job as the settings define it right now."""

    id: str  # history_summarization:mira | profile_maintenance | a housekeeping job's name
    name: str  # what a handler is registered for
    bot: str | None
    interval_minutes: float
    interval_source: str  # the resolution layer of the interval (bot, global, yaml, env, default) or config
    interval_key: str | None  # the setting the interval comes from; None for housekeeping
    revision: int


def job_id(name: str, bot: str | None) -> str:
    return f"{name}:{bot}" if bot else name


def catalogue(bots: Mapping[str, Snapshot], global_: Snapshot) -> list[JobSpec]:
    """Every settings-driven job: one summarization job per bot, one profile job."""
    jobs = [JobSpec(id=job_id(SUMMARIZATION, slug), name=SUMMARIZATION, bot=slug,
                    interval_minutes=snap[SUMMARIZATION_INTERVAL], interval_key=SUMMARIZATION_INTERVAL,
                    interval_source=snap.source(SUMMARIZATION_INTERVAL).value, revision=snap.revision)
            for slug, snap in sorted(bots.items())]
    jobs.append(JobSpec(id=PROFILE_MAINTENANCE, name=PROFILE_MAINTENANCE, bot=None,
                        interval_minutes=global_[PROFILE_INTERVAL], interval_key=PROFILE_INTERVAL,
                        interval_source=global_.source(PROFILE_INTERVAL).value, revision=global_.revision))
    return jobs


def first_model(*candidates: Any) -> str | None:
    """The first non-empty model name: "" and null both mean "fall through"."""
    return next((c for c in candidates if isinstance(c, str) and c), None)


def summarization_parameters(snap: Snapshot) -> dict[str, Any]:
    """What one summarization run needs, from one snapshot (one revision)."""
    params: dict[str, Any] = {
        "model": first_model(snap["summarization_model"], snap["maintenance_model"], snap["default_model"]),
    }
    params.update({name: snap[key] for name, key in _SUMMARIZATION_KEYS.items()})
    params["revision"] = snap.revision
    return params


def profile_parameters(global_: Snapshot, bots: Mapping[str, Snapshot]) -> dict[str, Any]:
    """Profile maintenance covers every bot; each gets the model it would use."""
    platform_model = first_model(global_["profile_maintenance_model"], global_["maintenance_model"])
    return {
        "model": platform_model,
        "bots": {slug: {"model": first_model(snap["profile_maintenance_model"], snap["maintenance_model"],
                                             snap["default_model"])}
                 for slug, snap in sorted(bots.items())},
        "revision": global_.revision,
    }


def find(jobs: list[JobSpec], wanted: str) -> JobSpec:
    for job in jobs:
        if job.id == wanted:
            return job
    raise NotFound(f"no job '{wanted}': see GET /v1/jobs (or `botsettings jobs`) for the list", job=wanted)


def next_run_after_change(anchor: datetime, interval: timedelta, now: datetime) -> datetime:
    """Where a job goes when its interval changes: one new interval after its last run
    (or after it was scheduled), as if the interval had always been this one; if that
    moment has passed, now."""
    return max(anchor + interval, now)


class JobRun(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    job_id: str
    job: str
    bot: str | None
    trigger: str  # schedule | manual
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    status: str  # running | succeeded | failed
    attempts: int
    error: str | None
    handler: str
    runner: str
    settings_revision: int
    parameters: dict[str, Any]


# The leader publishes its schedule so every process (and the CLI) can show next runs.
class ScheduleEntry(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str
    next_run_at: datetime | None
    interval_seconds: float
    settings_revision: int
    handler: str
    leader: str
    updated_at: datetime
