"""/v1/jobs and /v1/scheduled-changes over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.api.app import create_app
from app.config import Config
from app.runtime import Runtime
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime, RuntimeFactory
from tests.support.scheduler import Recorder, leader_of, scheduling
from tests.support.server import served


@pytest.fixture
async def leader(runtimes: RuntimeFactory) -> Runtime:
    make_runtime: MakeRuntime = scheduling(runtimes)
    rt = await make_runtime(handlers={"history_summarization": Recorder()})
    await leader_of(rt)
    return rt


@pytest.fixture
async def http(leader: Runtime, config: Config) -> AsyncIterator[httpx.AsyncClient]:
    async with served(create_app(config, leader)) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield client


async def test_jobs_list_shows_interval_source_handler_and_next_run(http: httpx.AsyncClient) -> None:
    body = (await http.get("/v1/jobs")).json()
    assert body["leader"] is True and body["scheduler"] == "on"
    jobs = {j["id"]: j for j in body["jobs"]}
    mira = jobs["history_summarization:mira"]
    assert (mira["trigger"], mira["interval_minutes"], mira["interval_source"]) == ("interval", 20, "yaml")
    assert mira["handler"].startswith("python ") and mira["next_run"] is not None
    assert jobs["profile_maintenance"]["handler"] == "no handler" and jobs["profile_maintenance"]["next_run"] is None
    r = await http.patch("/v1/settings/bots/mira", json={"history_summarization_interval_minutes": 5})
    assert r.status_code == 200
    mira = {j["id"]: j for j in (await http.get("/v1/jobs")).json()["jobs"]}["history_summarization:mira"]
    assert (mira["interval_minutes"], mira["interval_source"]) == (5, "bot")
    next_run = datetime.fromisoformat(mira["next_run"])
    assert next_run - datetime.now(UTC) < timedelta(minutes=5, seconds=1)


async def test_run_now_and_the_runs_of_a_job(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/jobs/history_summarization:mira/run")
    assert r.status_code == 202 and r.json()["status"] == "running"
    waited = await http.post("/v1/jobs/history_summarization:mira/run?wait=true")
    assert waited.status_code == 200 and waited.json()["status"] == "succeeded"
    runs = (await http.get("/v1/jobs/history_summarization:mira/runs")).json()["runs"]
    assert [r["trigger"] for r in runs] == ["manual", "manual"] and runs[0]["id"] == waited.json()["id"]
    assert (await http.post("/v1/jobs/profile_maintenance/run")).status_code == 409  # no handler
    missing = await http.get("/v1/jobs/history_summarization:zed/runs")
    assert missing.status_code == 404 and "no job" in missing.json()["detail"]


async def test_scheduled_changes_over_http(http: httpx.AsyncClient) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=0.5)).isoformat()
    r = await http.post("/v1/scheduled-changes", json={"apply_at": at, "scope": "bots/mira",
                                                       "patch": {"temperature": 0.3}, "reason": "quiet hours"},
                        headers={"X-Actor": "alice"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["status"], created["actor"], created["patch"]) == ("pending", "alice", {"temperature": 0.3})
    listed = (await http.get("/v1/scheduled-changes?status=pending")).json()["scheduled_changes"]
    assert [c["id"] for c in listed] == [created["id"]]

    async def applied() -> dict | None:  # type: ignore[type-arg]
        body = (await http.get(f"/v1/scheduled-changes/{created['id']}")).json()
        return body if body["status"] == "applied" else None
    done = await eventually(applied, timeout=3)
    assert done["change_id"] and done["delay_seconds"] < 1.5
    stored = (await http.get("/v1/settings/bots/mira/temperature")).json()
    assert stored["value"] == 0.3
    cancel = await http.delete(f"/v1/scheduled-changes/{created['id']}")
    assert cancel.status_code == 409 and "applied, not pending" in cancel.json()["detail"]


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"apply_at": "2099-01-01T00:00:00Z", "scope": "bots/mira", "patch": {"temperature": 7}}, 422, "temperature"),
    ({"apply_at": "2000-01-01T00:00:00Z", "scope": "bots/mira", "patch": {"temperature": 0.1}}, 422, "future"),
    ({"apply_at": "2099-01-01T00:00:00", "scope": "bots/mira", "patch": {"temperature": 0.1}}, 422, "time zone"),
    ({"apply_at": "2099-01-01T00:00:00Z", "scope": "bots/Mira", "patch": {"temperature": 0.1}}, 400, "slug"),
    ({"apply_at": "2099-01-01T00:00:00Z", "scope": "global", "patch": {}}, 422, "empty"),
    ({"apply_at": "soon", "scope": "global", "patch": {"temperature": 0.1}}, 400, "apply_at"),
    ({"apply_at": "2099-01-01T00:00:00Z", "scope": "global", "patch": {"temperature": 0.1}, "x": 1}, 400, "x"),
])
async def test_bad_scheduled_changes_are_refused_naming_the_problem(http: httpx.AsyncClient, body: dict,  # type: ignore[type-arg]
                                                                    status: int, fragment: str) -> None:
    r = await http.post("/v1/scheduled-changes", json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert fragment in r.text
    assert (await http.get("/v1/scheduled-changes")).json()["scheduled_changes"] == []


async def test_unknown_scheduled_change_and_bad_status(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/scheduled-changes/00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await http.delete("/v1/scheduled-changes/00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await http.get("/v1/scheduled-changes?status=done")).status_code == 422


async def test_the_openapi_schema_lists_the_jobs_routes(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/schema/openapi.json")).json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}/runs", "/v1/jobs/{job_id}/run", "/v1/scheduled-changes",
            "/v1/scheduled-changes/{change_id}"} <= set(paths)
