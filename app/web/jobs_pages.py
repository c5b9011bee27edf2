"""Jobs and scheduled changes, read-only: what runs when, with which interval (and
where that interval comes from), and how the last run went."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from app.http.auth import principal_of
from app.http.deps import Jobs
from app.http.visibility import visible_jobs, visible_scheduled
from app.web.render import page
from app.web.views import SOURCE_TEXT

SCHEDULED_SHOWN = 100


@get("/jobs", name="web.jobs")
async def jobs_page(request: Request[Any, Any, Any], jobs: Jobs) -> Template:
    principal = principal_of(request)
    view = visible_jobs(principal, await jobs.jobs())
    scheduled = visible_scheduled(principal, await jobs.scheduled_changes(None, SCHEDULED_SHOWN))
    return page(request, "jobs.html", view=view, scheduled=scheduled, revision=view.revision,
                source_text={k.value: v for k, v in SOURCE_TEXT.items()})


HANDLERS = [jobs_page]
