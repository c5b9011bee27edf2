"""Change requests over HTTP with tokens: four eyes between tokens, the approval
policy, and an approved request applied at its time by the leader, naming both."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
from httpx import AsyncClient

from app.config import Config
from app.runtime import Runtime
from tests.support.polling import eventually
from tests.support.tokens import bearer


@pytest.fixture
def config(config: Config) -> Config:
    return msgspec.structs.replace(config, require_approval="global", leader_check_seconds=0.2)


async def test_proposed_by_one_token_approved_by_another_applied_once_at_its_time(
        client: AsyncClient, runtime: Runtime, raw: asyncpg.Connection) -> None:
    await runtime.start_scheduler()
    apply_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    r = await client.post("/v1/change-requests", headers=bearer("writer"), json={
        "scope": "bots/mira", "patch": {"temperature": 0.3, "max_output_tokens": 900},
        "reason": "shorter answers", "apply_at": apply_at})
    assert r.status_code == 201, r.text
    request = r.json()
    assert (request["status"], request["author"], request["patches"]) == (
        "pending", "writer", {"bots/mira": {"temperature": 0.3, "max_output_tokens": 900}})
    rid = request["id"]

    r = await client.post(f"/v1/change-requests/{rid}/approve", headers=bearer("writer"))
    assert r.status_code == 403 and "may not approve" in r.json()["detail"]
    r = await client.post(f"/v1/change-requests/{rid}/approve", headers=bearer("reader"))
    assert r.status_code == 403 and "needs writer" in r.json()["detail"]
    shown = (await client.get(f"/v1/change-requests/{rid}", headers=bearer("reader"))).json()
    assert shown["request"]["status"] == "pending"
    assert [(d["key"], d["present"], d["proposed"], d["changes"]) for d in shown["diff"]] == [
        ("max_output_tokens", False, 900, True), ("temperature", False, 0.3, True)]

    r = await client.post(f"/v1/change-requests/{rid}/approve", headers=bearer("mira-writer"),
                          json={"note": "ok for mira"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"]) == ("approved", "mira-writer")
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0  # not before its time

    async def applied():  # type: ignore[no-untyped-def]
        body = (await client.get(f"/v1/change-requests/{rid}", headers=bearer("admin"))).json()["request"]
        return body if body["status"] == "applied" else None

    done = await eventually(applied, timeout=8)
    await asyncio.sleep(1.2)  # the leader polls every second: it does not apply it twice
    rows = await raw.fetch("SELECT key, value, actor, reason, source, change_id::text AS change_id "
                           "FROM settings_events ORDER BY revision")
    assert sorted((r["key"], json.loads(r["value"])) for r in rows) == [("max_output_tokens", 900),
                                                                         ("temperature", 0.3)]
    assert {(r["actor"], r["source"], r["change_id"]) for r in rows} == {
        ("writer", "change_request", done["change_id"])}
    assert all("proposed by writer, approved by mira-writer" in r["reason"] for r in rows)
    change = (await client.get(f"/v1/changes/{done['change_id']}", headers=bearer("admin"))).json()
    assert "approved by mira-writer" in change["change"]["reason"]
    assert (change["approval"]["author"], change["approval"]["approver"], change["approval"]["request_id"]) == (
        "writer", "mira-writer", rid)
    listed = (await client.get("/v1/change-requests?status=applied", headers=bearer("reader"))).json()
    assert [c["id"] for c in listed["change_requests"]] == [rid]


async def test_the_policy_sends_direct_writes_to_change_requests(client: AsyncClient,
                                                                 raw: asyncpg.Connection) -> None:
    r = await client.patch("/v1/settings/global", json={"temperature": 0.5}, headers=bearer("admin"))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["change_requests"] == "/v1/change-requests" and "change request" in body["detail"]
    r = await client.put("/v1/settings/global/temperature", json={"value": 0.5}, headers=bearer("admin"))
    assert r.status_code == 409
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5}, headers={
        **bearer("writer"), "X-Approval-Bypass": "because"})
    assert r.status_code == 403 and "only an admin" in r.json()["detail"]
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5}, headers=bearer("writer"))
    assert r.status_code == 200  # bot scopes are not protected under "global"
    r = await client.patch("/v1/settings/global", json={"temperature": 0.6}, headers={
        **bearer("admin"), "X-Approval-Bypass": "incident 12", "X-Change-Reason": "hotfix"})
    assert r.status_code == 200, r.text
    assert await raw.fetchval("SELECT reason FROM settings_events WHERE scope_id = '*'") == \
        "hotfix (approval bypassed by admin: incident 12)"

    # A writer proposes the global change; only an admin may approve it.
    r = await client.post("/v1/change-requests", headers=bearer("writer"), json={
        "patches": {"global": {"temperature": 0.7}, "bots/nova": {"top_p": 0.8}}, "reason": "both"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = await client.post(f"/v1/change-requests/{rid}/approve", headers=bearer("mira-writer"))
    assert r.status_code == 404  # it names nova: a token limited to mira does not see it
    r = await client.post(f"/v1/change-requests/{rid}/approve", headers=bearer("admin"))
    assert r.status_code == 200 and r.json()["status"] == "applied"
    assert await raw.fetchval("SELECT count(DISTINCT change_id) FROM settings_events "
                              "WHERE source = 'change_request'") == 1


async def test_bad_change_requests_are_refused_naming_what_is_wrong(client: AsyncClient,
                                                                   raw: asyncpg.Connection) -> None:
    for body, status, needle in [
        ({"scope": "bots/mira", "patch": {"temperature": 5}, "reason": "r"}, 422, "temperature"),
        ({"scope": "bots/mira", "patch": {"temperature": 0.5}, "reason": ""}, 422, "reason"),
        ({"scope": "bots/mira", "reason": "r"}, 422, "patch"),
        ({"scope": "bots/mira", "patch": {"temperature": 0.5}, "patches": {}, "reason": "r"}, 422, "not both"),
        ({"scope": "bots/Mira", "patch": {"temperature": 0.5}, "reason": "r"}, 400, "slug"),
        ({"scope": "bots/mira", "patch": {"temperature": 0.5}, "reason": "r", "apply_at": "soon"}, 400, "apply_at"),
        ({"scope": "bots/mira", "patch": {"temperature": 0.5}, "reason": "r", "guard": "15 minutes"}, 422, "guard"),
        ({"scope": "bots/mira", "patch": {"temperature": 0.5}, "reason": "r", "extra": 1}, 400, "extra"),
    ]:
        r = await client.post("/v1/change-requests", json=body, headers=bearer("writer"))
        assert r.status_code == status, (body, r.text)
        assert needle in r.text, (body, r.text)
    r = await client.post("/v1/change-requests", headers=bearer("reader"),
                          json={"scope": "bots/mira", "patch": {"temperature": 0.5}, "reason": "r"})
    assert r.status_code == 403
    assert (await client.get("/v1/change-requests?status=done", headers=bearer("reader"))).status_code == 422
    r = await client.get("/v1/change-requests/6d0f3f5e-9a57-4b43-8a57-0c6ad9b0f1a1", headers=bearer("reader"))
    assert r.status_code == 404
    assert await raw.fetchval("SELECT count(*) FROM change_requests") == 0
