"""The first HTTP surface: /v1/settings, health, problem+json errors."""

from __future__ import annotations

from importlib.metadata import version

import asyncpg
import pytest
from httpx import AsyncClient

from app.store import migrations


async def head(raw: asyncpg.Connection) -> int:
    return await raw.fetchval("SELECT revision FROM settings_head")


async def test_patch_sets_and_deletes_in_one_change_and_returns_the_revision(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5, "top_p": 0.9},
                           headers={"X-Actor": "alice", "X-Change-Reason": "warmer"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["changed"], body["first_revision"], body["last_revision"]) == (True, 1, 2)
    assert r.headers["X-Settings-Revision"] == "2"
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.6, "top_p": None})
    body = r.json()
    assert [(i["key"], i["op"], i["changed"]) for i in body["items"]] == [
        ("temperature", "set", True), ("top_p", "delete", True)]
    assert len({body["first_revision"], body["last_revision"]}) == 2
    r = await client.get("/v1/settings/bots/mira")
    assert r.status_code == 200
    assert r.headers["ETag"] == '"4"'
    settings = r.json()["settings"]
    assert list(settings) == ["temperature"]
    assert settings["temperature"]["value"] == 0.6 and settings["temperature"]["key_version"] == 2
    actor, reason = await raw.fetchrow("SELECT actor, reason FROM settings_events WHERE revision = 1")
    assert (actor, reason) == ("alice", "warmer")


async def test_put_get_and_delete_one_key(client: AsyncClient) -> None:
    r = await client.put("/v1/settings/global/max_output_tokens", json={"value": 2048, "reason": "budget"})
    assert r.status_code == 200 and r.json()["items"][0]["key_version"] == 1
    r = await client.get("/v1/settings/global/max_output_tokens")
    assert r.json()["value"] == 2048 and r.headers["ETag"] == '"1"'
    r = await client.delete("/v1/settings/global/max_output_tokens")
    assert r.status_code == 200 and r.json()["changed"]
    r = await client.delete("/v1/settings/global/max_output_tokens")
    assert r.status_code == 200 and not r.json()["changed"] and "nothing changed" in r.json()["message"]
    r = await client.get("/v1/settings/global/max_output_tokens")
    assert r.json()["present"] is False and r.json()["key_version"] == 2


async def test_legacy_key_names_are_accepted_with_a_warning(client: AsyncClient) -> None:
    r = await client.patch("/v1/settings/bots/nova", json={"max_tokens": 512})
    assert r.status_code == 200
    assert r.json()["items"][0]["key"] == "max_output_tokens"
    assert "legacy" in r.json()["warnings"][0]


async def test_if_match_guards_scope_and_key_writes(client: AsyncClient, raw: asyncpg.Connection) -> None:
    await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5})
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.6}, headers={"If-Match": '"0"'})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["code"] == "revision_mismatch"
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.6}, headers={"If-Match": '"1"'})
    assert r.status_code == 200
    r = await client.put("/v1/settings/bots/mira/temperature", json={"value": 0.7}, headers={"If-Match": '"1"'})
    assert r.status_code == 409
    r = await client.put("/v1/settings/bots/mira/temperature", json={"value": 0.7}, headers={"If-Match": "soon"})
    assert r.status_code == 400 and "If-Match" in r.json()["detail"]
    assert await head(raw) == 2


@pytest.mark.parametrize(("method", "path", "body", "status", "keys"), [
    ("patch", "/v1/settings/bots/mira", {"temperature": 7, "bogus": 1}, 422, ["temperature", "bogus"]),
    ("patch", "/v1/settings/bots/mira", {"profile_maintenance_interval_minutes": 5}, 422,
     ["profile_maintenance_interval_minutes"]),
    ("patch", "/v1/settings/global", {"system_prompt": "x"}, 422, ["system_prompt"]),
    ("patch", "/v1/settings/global", {"xai_api_key": "sk-123"}, 422, ["xai_api_key"]),
    ("patch", "/v1/settings/bots/Mira", {"temperature": 0.5}, 400, []),
    ("patch", "/v1/settings/bots/mira", [1, 2], 400, []),
    ("patch", "/v1/settings/bots/mira", {}, 400, []),
    ("put", "/v1/settings/bots/mira/temperature", {"val": 1}, 400, []),
    ("put", "/v1/settings/bots/mira/temperature", {"value": "hot"}, 422, ["temperature"]),
    ("put", "/v1/settings/bots/mira/nonsense", {"value": 1}, 422, ["nonsense"]),
    ("delete", "/v1/settings/global/name", None, 422, ["name"]),
])
async def test_bad_requests_get_problem_json_naming_each_key_and_write_nothing(
        client: AsyncClient, raw: asyncpg.Connection, method: str, path: str, body: object, status: int,
        keys: list[str]) -> None:
    kwargs = {"json": body} if body is not None else {}
    r = await client.request(method.upper(), path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == status and problem["detail"]
    if keys:
        assert [e["key"] for e in problem["errors"]] == keys
    assert await head(raw) == 0


async def test_malformed_json_and_oversize_bodies_are_4xx(client: AsyncClient, raw: asyncpg.Connection) -> None:
    r = await client.patch("/v1/settings/bots/mira", content=b"{bad", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed" in r.json()["detail"]
    r = await client.patch("/v1/settings/bots/mira", content=b'{"system_prompt": "' + b"x" * (9 << 20) + b'"}',
                           headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert await head(raw) == 0


async def test_health_and_readiness(client: AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "version": version("botsettings")}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["schema"] == migrations.head_revision()


async def test_openapi_schema_lists_the_settings_routes(client: AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/v1/settings/global", "/v1/settings/bots/{slug}", "/v1/settings/bots/{slug}/{key}"} <= set(paths)


async def test_a_slug_in_the_query_string_does_not_redirect_a_global_write(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    r = await client.patch("/v1/settings/global?slug=mira", json={"temperature": 0.4})
    assert r.json()["items"][0]["scope"] == "global"
    assert await raw.fetchval("SELECT count(*) FROM settings_current WHERE scope_id = 'mira'") == 0
