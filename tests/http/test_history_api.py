"""/v1/history, /v1/changes, /v1/diff, /v1/rollback, revert and ?as_of= reads over HTTP."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from httpx import AsyncClient


async def write(client: AsyncClient, scope: str, patch: dict, actor: str = "alice", reason: str = "") -> dict:
    r = await client.patch(f"/v1/settings/{scope}", json=patch, headers={"X-Actor": actor, "X-Change-Reason": reason})
    assert r.status_code == 200, r.text
    return r.json()


async def test_history_pages_filter_and_show_values_with_previous_values(client: AsyncClient) -> None:
    await write(client, "bots/mira", {"temperature": 0.5}, reason="warmer")
    await write(client, "bots/mira", {"temperature": 0.7, "top_p": 0.9}, actor="bob", reason="tune")
    await write(client, "global", {"temperature": 1.0})
    r = await client.get("/v1/history", params={"scope": "bots/mira", "key": "temperature", "limit": 1})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [(e["revision"], e["previous"], e["value"], e["actor"], e["reason"]) for e in page["events"]] == [
        (2, 0.5, 0.7, "bob", "tune")]
    r = await client.get("/v1/history", params={"scope": "bots/mira", "key": "temperature", "limit": 1,
                                                "cursor": page["next_cursor"]})
    assert [e["revision"] for e in r.json()["events"]] == [1]
    r = await client.get("/v1/history", params={"actor": "bob", "source": "api"})
    assert [e["key"] for e in r.json()["events"]] == ["top_p", "temperature"]
    changes = (await client.get("/v1/changes")).json()["changes"]
    assert [c["first_revision"] for c in changes] == [4, 2, 1]
    detail = (await client.get(f"/v1/changes/{changes[1]['id']}")).json()
    assert detail["change"]["reason"] == "tune" and [e["key"] for e in detail["events"]] == ["temperature", "top_p"]


async def test_point_in_time_reads_of_a_scope_everything_and_a_bots_effective_settings(client: AsyncClient) -> None:
    await write(client, "bots/mira", {"temperature": 0.5})
    at = (await client.get("/v1/history")).json()["events"][0]["recorded_at"]
    await write(client, "bots/mira", {"temperature": 0.9})
    r = await client.get("/v1/settings/bots/mira", params={"revision": 1})
    assert r.status_code == 200 and r.json()["scopes"] == {"bots/mira": {"temperature": 0.5}}
    r = await client.get("/v1/settings/bots/mira", params={"as_of": at})
    assert r.json()["revision"] == 1 and r.headers["X-Settings-Revision"] == "1"
    assert (await client.get("/v1/settings/bots/mira")).json()["settings"]["temperature"]["value"] == 0.9
    assert (await client.get("/v1/settings", params={"revision": 1})).json()["scopes"] == {
        "bots/mira": {"temperature": 0.5}}
    r = await client.get("/v1/bots/mira/effective", params={"as_of": at, "keys": "temperature,name"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revision"] == 1 and body["settings"]["temperature"] == {"value": 0.5, "source": "bot", "revision": 1}
    assert body["settings"]["name"]["source"] == "yaml"  # bots.yaml is today's: it is not versioned
    now = (await client.get("/v1/bots/mira/effective", params={"keys": "temperature"})).json()
    assert now["settings"]["temperature"]["value"] == 0.9


async def test_diff_rollback_dry_run_then_apply_then_nothing_to_do(client: AsyncClient,
                                                                   raw: asyncpg.Connection) -> None:
    await write(client, "bots/mira", {"temperature": 0.5, "top_p": 0.9})
    await write(client, "bots/mira", {"temperature": 1.5, "top_p": None, "memory_n_results": 2})
    r = await client.get("/v1/diff", params={"from": "2", "to": "5", "scope": "bots/mira"})
    assert r.status_code == 200, r.text
    assert [(i["key"], i["change"], i["from"], i["to"]) for i in r.json()["items"]] == [
        ("memory_n_results", "added", None, 2), ("temperature", "changed", 0.5, 1.5), ("top_p", "removed", 0.9, None)]
    dry = await client.post("/v1/rollback", json={"to": {"revision": 2}, "scope": "bots/mira", "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["change"] is None and len(dry.json()["diff"]) == 3
    assert await raw.fetchval("SELECT revision FROM settings_head") == 5
    done = await client.post("/v1/rollback", json={"to": {"revision": 2}, "scope": "bots/mira", "reason": "regression"},
                             headers={"X-Actor": "oncall"})
    change = done.json()["change"]
    assert change["changed"] and change["first_revision"] == 6 and change["last_revision"] == 8
    settings = (await client.get("/v1/settings/bots/mira")).json()["settings"]
    assert {k: v["value"] for k, v in settings.items()} == {"temperature": 0.5, "top_p": 0.9}
    event = (await client.get("/v1/history", params={"limit": 1})).json()["events"][0]
    assert (event["source"], event["actor"]) == ("rollback", "oncall")
    assert event["reason"] == "rollback of bots/mira to revision 2: regression"
    again = await client.post("/v1/rollback", json={"to": {"revision": 2}, "scope": "bots/mira"})
    assert again.json()["change"] is None and again.json()["diff"] == []
    assert await raw.fetchval("SELECT revision FROM settings_head") == 8


async def test_revert_conflicts_when_a_later_change_touched_its_keys_unless_forced(client: AsyncClient) -> None:
    bad = await write(client, "bots/mira", {"temperature": 1.9})
    await write(client, "bots/mira", {"temperature": 1.8})
    r = await client.post(f"/v1/changes/{bad['change_id']}/revert")
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["key"] for e in r.json()["errors"]] == ["temperature"]
    r = await client.post(f"/v1/changes/{bad['change_id']}/revert", json={"force": True, "reason": "undo"})
    assert r.status_code == 200 and r.json()["change"]["items"][0]["op"] == "delete"


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "fragment"), [
    ("get", "/v1/settings/bots/mira", {"params": {"revision": "99"}}, 400, "beyond the head"),
    ("get", "/v1/settings/bots/mira", {"params": {"as_of": "2000-01-01T00:00:00Z"}}, 400, "before the first event"),
    ("get", "/v1/settings/bots/mira", {"params": {"as_of": "last tuesday"}}, 400, "not an ISO 8601 timestamp"),
    ("get", "/v1/settings/bots/mira", {"params": {"as_of": "2026-11-20T10:00Z", "revision": "1"}}, 400, "not both"),
    ("get", "/v1/bots/mira/effective", {"params": {"as_of": "nope"}}, 400, "not an ISO 8601 timestamp"),
    ("get", "/v1/bots/ghost/effective", {"params": {"revision": "1"}}, 404, "unknown bot 'ghost' at revision 1"),
    ("get", "/v1/history", {"params": {"since": "2026-99-01"}}, 400, "since"),
    ("get", "/v1/history", {"params": {"cursor": "x"}}, 400, "cursor"),
    ("get", "/v1/history", {"params": {"limit": "0"}}, 400, "limit"),
    ("get", "/v1/history", {"params": {"source": "telegram"}}, 400, "source"),
    ("get", "/v1/history", {"params": {"scope": "bots/Mira!"}}, 400, "invalid bot slug"),
    ("get", f"/v1/changes/{uuid.UUID(int=7)}", {}, 404, "no change with id"),
    ("get", "/v1/changes/123", {}, 400, "not a change id"),
    ("post", f"/v1/changes/{uuid.UUID(int=7)}/revert", {}, 404, "no change with id"),
    ("post", "/v1/rollback", {"json": {"to": {"revision": 5}}}, 400, "beyond the head"),
    ("post", "/v1/rollback", {"json": {"to": {"time": "1999-01-01T00:00Z"}}}, 400, "before the first event"),
    ("post", "/v1/rollback", {"json": {"to": {"time": "soon"}}}, 400, "not an ISO 8601"),
    ("post", "/v1/rollback", {"json": {"to": {}}}, 400, "exactly one"),
    ("post", "/v1/rollback", {"json": {"to": {"revision": 0}, "keys": ["nope"]}}, 422, "unknown setting"),
    ("post", "/v1/rollback", {"json": {"to": {"revision": -1}}}, 400, None),
    ("get", "/v1/diff", {"params": {"from": "1", "to": "9"}}, 400, "beyond the head"),
])
async def test_bad_input_is_a_clear_4xx_and_writes_nothing(client: AsyncClient, raw: asyncpg.Connection, method: str,
                                                           path: str, kwargs: dict, status: int,
                                                           fragment: str | None) -> None:
    await write(client, "bots/mira", {"temperature": 0.5})
    r = await getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if fragment:
        assert fragment in r.text
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 1
