"""Housekeeping jobs of the service itself.

The settings snapshot writes a whole-state snapshot when the head has moved far
enough past the last one (HistoryService.snapshot_if_due): every change that
crosses the threshold already tries, so this is the backstop for a process that
crashed right after such a change. The projection check replays the log and compares it with the projection
(invariant 4 of docs/architecture.md). Drift is logged (``projection.drift``), counted in the
``botsettings_projection_drift`` gauge, and fails the run, so /v1/jobs shows it as
the job's last run with the drift in its error. The reply retention keeps the chat
gateway's reply log within its age and row limits and deletes idle conversation pins.
"""

from __future__ import annotations

import structlog

from app import metrics
from app.services.conversations import ConversationsService
from app.services.history import HistoryService
from app.services.job_catalogue import Housekeeping
from app.services.job_handlers import JobFailed
from app.services.replies import RepliesService
from app.services.settings import SettingsService

log = structlog.get_logger("botsettings.housekeeping")
PROJECTION_CHECK = "projection_check"
SETTINGS_SNAPSHOT = "settings_snapshot"
REPLY_RETENTION = "reply_retention"
SNAPSHOT_CHECK_MINUTES = 10.0


def projection_check(service: SettingsService, interval_minutes: float) -> Housekeeping:
    async def check() -> None:
        report = await service.verify()
        metrics.PROJECTION_DRIFT.set(len(report.drift) + len(report.log_problems))
        if report.ok:
            return
        details = [f"{d.scope} {d.key}: {d.problem}" for d in report.drift[:10]] + report.log_problems
        log.warning("projection.drift", head=report.head, drifted_keys=len(report.drift),
                    log_problems=report.log_problems, first=details[:10])
        more = f" (+{len(report.drift) - 10} more)" if len(report.drift) > 10 else ""
        raise JobFailed(f"drift at head {report.head}: {len(report.drift)} key(s) differ from a replay of the "
                        f"log{more}: {'; '.join(details)}. Run `botsettings rebuild`.")

    return Housekeeping(name=PROJECTION_CHECK, interval_minutes=interval_minutes, action=check)


def settings_snapshot(service: HistoryService, interval_minutes: float = SNAPSHOT_CHECK_MINUTES) -> Housekeeping:
    async def snapshot() -> None:
        revision = await service.snapshot_if_due()
        if revision is not None:
            log.info("snapshot.written", revision=revision)

    return Housekeeping(name=SETTINGS_SNAPSHOT, interval_minutes=interval_minutes, action=snapshot)


def reply_retention(replies: RepliesService, conversations: ConversationsService, *, retention_days: float,
                    max_rows: int, interval_minutes: float) -> Housekeeping:
    """The reply log within its retention (age, then count), and idle conversation pins gone."""
    async def prune() -> None:
        deleted = await replies.prune(retention_days, max_rows)
        expired = await conversations.expire()
        if deleted or expired:
            log.info("replies.pruned", replies=deleted, pins=expired)

    return Housekeeping(name=REPLY_RETENTION, interval_minutes=interval_minutes, action=prune)
