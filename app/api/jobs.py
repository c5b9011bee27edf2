"""/v1/jobs: maintenance and housekeeping jobs, their runs, run now.
/v1/scheduled-changes: setting changes applied at a given time."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.domain import scopes
from app.domain.access import Action, sees_scope
from app.domain.errors import NotFound
from app.domain.history import parse_time
from app.domain.jobs import JobRun
from app.domain.scheduled import ScheduledChange
from app.http.auth import principal_of, require
from app.http.deps import Jobs
from app.http.request import actor_of, approval_bypass, query_int
from app.http.visibility import visible_jobs, visible_scheduled
from app.services.jobs import JobsService, JobsView


class RunList(msgspec.Struct, kw_only=True):
    job_id: str
    runs: list[JobRun]


class ScheduleBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    apply_at: str  # ISO 8601, seconds optional (parse_time)
    scope: str  # global | bots/<slug>
    patch: dict[str, Any]
    reason: str = ""


class ScheduledList(msgspec.Struct, kw_only=True):
    scheduled_changes: list[ScheduledChange]


# A token limited to some bots sees platform-wide jobs and its bots' jobs and
# scheduled changes (and the global scope's), nothing of any other bot: others' are
# left out of lists and answered 404 one by one, as if they did not exist.
@get("/v1/jobs", summary="Every job: trigger, interval and where it came from, next run, last run", tags=["jobs"])
async def list_jobs(request: Request[Any, Any, Any], jobs: Jobs) -> JobsView:
    return visible_jobs(principal_of(request), await jobs.jobs())


async def _check_job(request: Request[Any, Any, Any], jobs: JobsService, job_id: str) -> None:
    principal = principal_of(request)
    if principal.bots is not None and not any(j.id == job_id for j in visible_jobs(principal, await jobs.jobs()).jobs):
        raise NotFound(f"no job {job_id!r}")


@get("/v1/jobs/{job_id:str}/runs", summary="A job's runs, newest first", tags=["jobs"])
async def job_runs(request: Request[Any, Any, Any], jobs: Jobs, job_id: FromPath[str],
                   limit: FromQuery[str | None] = None) -> RunList:
    await _check_job(request, jobs, job_id)
    return RunList(job_id=job_id, runs=await jobs.runs(job_id, query_int(limit, "limit", 50, 1, 1000)))


@post("/v1/jobs/{job_id:str}/run", summary="Run a job now (202 at once; ?wait=true answers when it ends)",
      tags=["jobs"], status_code=202, opt={"action": "admin"})
async def run_job(request: Request[Any, Any, Any], jobs: Jobs, job_id: FromPath[str],
                  wait: FromQuery[bool] = False) -> Response[JobRun]:
    await _check_job(request, jobs, job_id)
    run = await jobs.run_now(job_id, wait=wait)
    return Response(run, status_code=200 if wait else 202)


@post("/v1/scheduled-changes", summary="Schedule a merge-patch of one scope", tags=["scheduled changes"],
      status_code=201, opt={"action": "admin"})
async def schedule_change(request: Request[Any, Any, Any], jobs: Jobs, data: JSONBody[ScheduleBody]) -> ScheduledChange:
    target = scopes.parse_scope(data.scope)
    require(request, Action.WRITE, target)
    return await jobs.schedule_change(target, data.patch,
                                      apply_at=parse_time(data.apply_at, "apply_at", naive_is_utc=False),
                                      reason=data.reason, actor=actor_of(request), bypass=approval_bypass(request))


@get("/v1/scheduled-changes", summary="Scheduled changes (?status=pending|applied|failed|cancelled)",
     tags=["scheduled changes"])
async def list_scheduled(request: Request[Any, Any, Any], jobs: Jobs, status: FromQuery[str | None] = None,
                         limit: FromQuery[str | None] = None) -> ScheduledList:
    principal = principal_of(request)
    changes = await jobs.scheduled_changes(status, query_int(limit, "limit", 100, 1, 1000))
    return ScheduledList(scheduled_changes=visible_scheduled(principal, changes))


async def _visible_scheduled(request: Request[Any, Any, Any], jobs: JobsService,
                             change_id: uuid.UUID) -> ScheduledChange:
    change = await jobs.scheduled_change(change_id)
    if not sees_scope(principal_of(request), change.scope):
        raise NotFound(f"no scheduled change {change_id}")
    return change


@get("/v1/scheduled-changes/{change_id:uuid}", summary="One scheduled change", tags=["scheduled changes"])
async def show_scheduled(request: Request[Any, Any, Any], jobs: Jobs,
                         change_id: FromPath[uuid.UUID]) -> ScheduledChange:
    return await _visible_scheduled(request, jobs, change_id)


@delete("/v1/scheduled-changes/{change_id:uuid}", summary="Cancel a pending scheduled change",
        tags=["scheduled changes"], status_code=200, opt={"action": "admin"})
async def cancel_scheduled(request: Request[Any, Any, Any], jobs: Jobs,
                           change_id: FromPath[uuid.UUID]) -> ScheduledChange:
    require(request, Action.WRITE, scopes.parse_scope((await _visible_scheduled(request, jobs, change_id)).scope))
    return await jobs.cancel_scheduled(change_id, actor_of(request))


HANDLERS = [list_jobs, job_runs, run_job, schedule_change, list_scheduled, show_scheduled, cancel_scheduled]
