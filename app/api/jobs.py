"""/v1/jobs: maintenance and housekeeping jobs, their runs, run now.
/v1/scheduled-changes: setting changes applied at a given time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.domain import scopes
from app.domain.jobs import JobRun
from app.domain.scheduled import ScheduledChange
from app.http.deps import Jobs
from app.http.request import actor_of
from app.services.jobs import JobsView


class RunList(msgspec.Struct, kw_only=True):
    job_id: str
    runs: list[JobRun]


class ScheduleBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    apply_at: datetime
    scope: str  # global | bots/<slug>
    patch: dict[str, Any]
    reason: str = ""


class ScheduledList(msgspec.Struct, kw_only=True):
    scheduled_changes: list[ScheduledChange]


@get("/v1/jobs", summary="Every job: trigger, interval and where it came from, next run, last run", tags=["jobs"])
async def list_jobs(jobs: Jobs) -> JobsView:
    return await jobs.jobs()


@get("/v1/jobs/{job_id:str}/runs", summary="A job's runs, newest first", tags=["jobs"])
async def job_runs(jobs: Jobs, job_id: FromPath[str], limit: FromQuery[int] = 50) -> RunList:
    return RunList(job_id=job_id, runs=await jobs.runs(job_id, limit))


@post("/v1/jobs/{job_id:str}/run", summary="Run a job now (202 at once; ?wait=true answers when it ends)",
      tags=["jobs"], status_code=202, opt={"action": "admin"})
async def run_job(jobs: Jobs, job_id: FromPath[str], wait: FromQuery[bool] = False) -> Response[JobRun]:
    run = await jobs.run_now(job_id, wait=wait)
    return Response(run, status_code=200 if wait else 202)


@post("/v1/scheduled-changes", summary="Schedule a merge-patch of one scope", tags=["scheduled changes"],
      status_code=201, opt={"action": "admin"})
async def schedule_change(request: Request[Any, Any, Any], jobs: Jobs, data: JSONBody[ScheduleBody]) -> ScheduledChange:
    return await jobs.schedule_change(scopes.parse_scope(data.scope), data.patch, apply_at=data.apply_at,
                                      reason=data.reason, actor=actor_of(request))


@get("/v1/scheduled-changes", summary="Scheduled changes (?status=pending|applied|failed|cancelled)",
     tags=["scheduled changes"])
async def list_scheduled(jobs: Jobs, status: FromQuery[str | None] = None,
                         limit: FromQuery[int] = 100) -> ScheduledList:
    return ScheduledList(scheduled_changes=await jobs.scheduled_changes(status, limit))


@get("/v1/scheduled-changes/{change_id:uuid}", summary="One scheduled change", tags=["scheduled changes"])
async def show_scheduled(jobs: Jobs, change_id: FromPath[uuid.UUID]) -> ScheduledChange:
    return await jobs.scheduled_change(change_id)


@delete("/v1/scheduled-changes/{change_id:uuid}", summary="Cancel a pending scheduled change",
        tags=["scheduled changes"], status_code=200, opt={"action": "admin"})
async def cancel_scheduled(request: Request[Any, Any, Any], jobs: Jobs,
                           change_id: FromPath[uuid.UUID]) -> ScheduledChange:
    return await jobs.cancel_scheduled(change_id, actor_of(request))


HANDLERS = [list_jobs, job_runs, run_job, schedule_change, list_scheduled, show_scheduled, cancel_scheduled]
