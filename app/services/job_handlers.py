"""Job handlers: who does the work of a job. Python entry points (group
``botsettings.jobs``, named after the job) come first, then the webhook
(BOTSETTINGS_JOB_WEBHOOK_URL); a job with neither has no handler and never runs."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

import httpx
import msgspec
import structlog

log = structlog.get_logger("botsettings.jobs")
ENTRY_POINT_GROUP = "botsettings.jobs"


class JobContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a handler is given: one run of one job, with its parameters resolved at one revision."""

    run_id: int
    job_id: str
    job: str
    bot: str | None
    parameters: dict[str, Any]
    revision: int
    scheduled_for: datetime | None
    attempt: int


HandlerFn = Callable[[JobContext], Awaitable[Any] | Any]


class JobFailed(Exception):
    """A handler's run failed; the message is recorded on the run."""


class Handler(msgspec.Struct, frozen=True):
    description: str  # shown in /v1/jobs: "entry point pkg.mod:fn", "webhook http://…", "built-in"
    call: HandlerFn
    attempts: int | None = None  # None: the configured number


async def invoke(handler: Handler, context: JobContext) -> None:
    result = handler.call(context)
    if inspect.isawaitable(result):
        await result


class Webhook:
    """POST {job, job_id, bot, parameters, revision, …}; non-2xx or a timeout fails the attempt."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    async def __call__(self, context: JobContext) -> None:
        body = msgspec.json.encode(context)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, content=body,
                                             headers={"content-type": "application/json",
                                                      "x-botsettings-job": context.job_id})
        except httpx.TimeoutException:
            raise JobFailed(f"webhook timed out after {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise JobFailed(f"webhook unreachable: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise JobFailed(f"webhook answered {response.status_code}: {response.text[:200]}")


class Handlers:
    def __init__(self, webhook_url: str | None = None, webhook_timeout: float = 10.0, *,
                 discover: bool = False) -> None:
        self._python: dict[str, Handler] = {}
        self._webhook = (Handler(f"webhook {webhook_url}", Webhook(webhook_url, webhook_timeout))
                         if webhook_url else None)
        self._discovered = not discover

    @classmethod
    def discover(cls, webhook_url: str | None = None, webhook_timeout: float = 10.0) -> Handlers:
        """The webhook, plus every entry point in ``botsettings.jobs`` that loads. Entry
        points are imported on first use, so commands that never look at jobs do not pay."""
        return cls(webhook_url, webhook_timeout, discover=True)

    def _load_entry_points(self) -> None:
        self._discovered = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            if point.name in self._python:
                continue  # registered in code: that one wins
            try:
                self._python[point.name] = Handler(f"entry point {point.value}", point.load())
            except Exception as exc:
                log.error("jobs.handler_failed_to_load", job=point.name, entry_point=point.value,
                          error=f"{type(exc).__name__}: {exc}")

    def register(self, job: str, call: HandlerFn, description: str | None = None,
                 attempts: int | None = None) -> None:
        """A Python handler for every job named ``job`` (e.g. history_summarization)."""
        name = description or f"python {getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', call)}"
        self._python[job] = Handler(name, call, attempts)

    def for_job(self, job: str) -> Handler | None:
        if not self._discovered:
            self._load_entry_points()
        return self._python.get(job) or self._webhook


async def sleep_backoff(base: float, attempt: int) -> None:
    """Before retry ``attempt`` (2, 3, …): base, 2×base, 4×base…"""
    await asyncio.sleep(base * 2 ** (attempt - 2))
