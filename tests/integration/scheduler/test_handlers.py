"""Pluggable handlers: a webhook (a fake receiver on loopback) and entry points."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.services.job_handlers import ENTRY_POINT_GROUP, Handlers
from tests.support.receiver import Receiver, receiving
from tests.support.runtimes import MakeRuntime

MIRA = "history_summarization:mira"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as app:
        yield app


async def test_a_failing_webhook_is_retried_with_backoff_and_the_run_recorded_as_failed(
        make_runtime: MakeRuntime, receiver: Receiver) -> None:
    rt = await make_runtime(schedule=False, job_webhook_url=receiver.url, job_attempts=3,
                            job_retry_backoff_seconds=0.05)
    receiver.plan = [500, 502, 503]
    run = await rt.jobs.run_now(MIRA)
    assert (run.status, run.attempts) == ("failed", 3)
    assert run.error is not None and "webhook answered 503" in run.error
    assert [b["attempt"] for b in receiver.bodies] == [1, 2, 3]
    body = receiver.bodies[0]
    assert (body["job"], body["job_id"], body["bot"], body["run_id"]) == (
        "history_summarization", MIRA, "mira", run.id)
    assert body["parameters"]["model"] == "dolphin-qwen-3b" and body["revision"] == 0
    stored = (await rt.jobs.runs(MIRA))[0]
    assert (stored.status, stored.error, stored.handler) == ("failed", run.error, f"webhook {receiver.url}")
    assert stored.finished_at is not None and stored.finished_at >= stored.started_at


async def test_a_webhook_that_recovers_on_retry_succeeds(make_runtime: MakeRuntime, receiver: Receiver) -> None:
    rt = await make_runtime(schedule=False, job_webhook_url=receiver.url, job_retry_backoff_seconds=0.05)
    receiver.plan = [500]
    run = await rt.jobs.run_now("profile_maintenance")
    assert (run.status, run.attempts, run.error) == ("succeeded", 2, None)


async def test_a_webhook_timeout_fails_the_attempt(make_runtime: MakeRuntime, receiver: Receiver) -> None:
    rt = await make_runtime(schedule=False, job_webhook_url=receiver.url, job_attempts=1,
                            job_webhook_timeout_seconds=0.2)
    receiver.plan = [2.0]
    run = await rt.jobs.run_now(MIRA)
    assert run.status == "failed" and run.error == "webhook timed out after 0.2 s"


async def test_an_entry_point_handler_is_discovered_and_preferred_over_the_webhook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_runtime: MakeRuntime) -> None:
    # A plugin distribution, installed the way pip would leave it: a module and its metadata.
    (tmp_path / "plugin_jobs.py").write_text(
        "CALLS = []\n"
        "async def summarize(context):\n"
        "    CALLS.append((context.bot, context.parameters['batch_size']))\n")
    info = tmp_path / "plugin_jobs-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-jobs\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nhistory_summarization = plugin_jobs:summarize\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    handlers = Handlers.discover("http://127.0.0.1:9/never")
    mira = handlers.for_job("history_summarization")
    assert mira is not None and mira.description == "entry point plugin_jobs:summarize"
    other = handlers.for_job("profile_maintenance")
    assert other is not None and other.description.startswith("webhook")
    rt = await make_runtime(schedule=False)
    run = await rt.jobs.run_now(MIRA)
    assert run.status == "succeeded" and run.handler == "entry point plugin_jobs:summarize"
    assert sys.modules["plugin_jobs"].CALLS == [("mira", 5)]
