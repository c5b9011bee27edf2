"""/v1/bots, /v1/bots/{slug}/effective and /v1/watch over real HTTP."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient

from app.domain import scopes
from app.runtime import Runtime
from tests.support.sse import read_events


async def test_bots_lists_yaml_and_database_bots(client: AsyncClient, runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.bot("zed"), "temperature", 0.5, actor="t")
    body = (await client.get("/v1/bots")).json()
    by_slug = {b["slug"]: b for b in body["bots"]}
    assert {"mira", "nova", "spark", "zed"} <= set(by_slug)
    assert by_slug["mira"]["name"] == "Mira" and by_slug["mira"]["in_yaml"] is True
    assert (by_slug["zed"]["in_yaml"], by_slug["zed"]["overrides"], by_slug["zed"]["name"]) == (False, 1, "Zed")
    assert body["default_bot"] == "nova" and by_slug["nova"]["default"] is True


async def test_effective_shows_value_source_and_revision_and_follows_changes(client: AsyncClient) -> None:
    r = await client.get("/v1/bots/mira/effective")
    assert r.status_code == 200
    settings = r.json()["settings"]
    assert settings["history_tokens"] == {"value": 64000, "source": "yaml", "revision": 0}
    assert settings["top_p"]["source"] == "default" and settings["name"]["value"] == "Mira"
    await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5})
    r = await client.get("/v1/bots/mira/effective", params={"keys": "temperature,max_tokens"})
    assert r.json()["settings"] == {"temperature": {"value": 0.5, "source": "bot", "revision": 1},
                                    "max_output_tokens": {"value": 2048, "source": "yaml", "revision": 1}}
    assert r.headers["X-Settings-Revision"] == "1" and r.json()["stale"] is False


async def test_request_overrides_win_and_are_validated(client: AsyncClient) -> None:
    r = await client.get("/v1/bots/nova/effective?keys=temperature,uses_tools&override.temperature=0.3"
                         "&override.uses_tools=false")
    assert r.json()["settings"]["temperature"] == {"value": 0.3, "source": "request", "revision": 0}
    assert r.json()["settings"]["uses_tools"]["value"] is False
    r = await client.get("/v1/bots/nova/effective?override.temperature=5&override.nope=1")
    assert r.status_code == 422 and [e["key"] for e in r.json()["errors"]] == ["temperature", "nope"]
    r = await client.get("/v1/bots/nova/effective?keys=bogus")
    assert r.status_code == 422


async def test_unknown_and_malformed_bots(client: AsyncClient) -> None:
    r = await client.get("/v1/bots/zed/effective")
    assert r.status_code == 404 and "unknown bot 'zed'" in r.json()["detail"]
    assert (await client.get("/v1/bots/Zed!/effective")).status_code == 400


async def watch_events(client: AsyncClient, url: str, count: int, trigger=None) -> list[dict]:
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        if trigger:
            asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(trigger()))
        return await read_events(response, count)


async def test_watch_replays_after_since_then_follows_live(client: AsyncClient, runtime: Runtime) -> None:
    svc = runtime.service
    first = await svc.patch(scopes.bot("mira"), {"temperature": 0.5, "top_p": 0.5}, actor="t")
    await svc.set_value(scopes.GLOBAL, "search_depth", "advanced", actor="t")

    async def later() -> None:
        await svc.set_value(scopes.bot("nova"), "temperature", 0.2, actor="t")

    events = await asyncio.wait_for(watch_events(client, "/v1/watch?since=0", 3, later), 10)
    assert [e["id"] for e in events] == ["2", "3", "4"]
    assert events[0]["data"]["change_id"] == str(first.change_id)
    assert events[0]["data"]["keys"] == ["temperature", "top_p"] and events[0]["data"]["first_revision"] == 1
    assert events[2]["data"]["scopes"] == ["bots/nova"]
    resumed = await asyncio.wait_for(watch_events(client, "/v1/watch?since=3", 1), 10)
    assert resumed[0]["id"] == "4"


async def test_watch_refuses_a_revision_beyond_head(client: AsyncClient) -> None:
    r = await client.get("/v1/watch?since=99")
    assert r.status_code == 400 and "head revision" in r.json()["detail"]
