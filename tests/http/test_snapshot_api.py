"""/v1/snapshot (a follower's bootstrap) and the values /v1/watch now carries, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest

from app.api.app import create_app
from app.config import Config
from app.domain import scopes
from app.domain.access import Role, new_secret, token_line
from app.runtime import Runtime
from tests.support.server import served
from tests.support.sse import read_events

SECRETS = {"admin": new_secret(), "mira-only": new_secret()}


@pytest.fixture
async def base_url(config: Config, runtime: Runtime, tmp_path: Path) -> AsyncIterator[str]:
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("admin", Role.ADMIN, SECRETS["admin"]) + "\n"
                      + token_line("mira-only", Role.READER, SECRETS["mira-only"], ["mira"]) + "\n")
    async with served(create_app(msgspec.structs.replace(config, tokens_file=tokens), runtime)) as url:
        yield url


def client(base_url: str, who: str = "admin") -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=10, headers={"Authorization": f"Bearer {SECRETS[who]}"})


async def test_snapshot_gives_every_bot_at_one_revision_with_sources_and_revisions(
        base_url: str, runtime: Runtime) -> None:
    svc = runtime.service
    await svc.set_value(scopes.bot("mira"), "temperature", 0.4, actor="t")  # revision 1
    await svc.set_value(scopes.GLOBAL, "top_p", 0.5, actor="t")  # revision 2
    async with client(base_url) as http:
        r = await http.get("/v1/snapshot")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revision"] == 2 and r.headers["x-settings-revision"] == "2"
    assert set(body["bots"]) == {"mira", "nova", "spark"}
    mira, nova = body["bots"]["mira"]["settings"], body["bots"]["nova"]["settings"]
    assert mira["temperature"] == {"value": 0.4, "source": "bot", "revision": 1}
    assert mira["top_p"] == {"value": 0.5, "source": "global", "revision": 2}
    assert nova["top_p"] == {"value": 0.5, "source": "global", "revision": 2}  # global beats bots.yaml's 0.9
    assert nova["temperature"] == {"value": 0.2, "source": "yaml", "revision": None}
    # What a follower needs to resolve later changes itself: stored layers and the fallback.
    assert body["bots"]["mira"]["stored"] == {"temperature": {"value": 0.4, "revision": 1}}
    assert body["bots"]["mira"]["fallback"]["temperature"] == {"value": 0.85, "source": "yaml"}
    assert body["global"] == {"top_p": {"value": 0.5, "revision": 2}}


async def test_snapshot_of_named_bots_and_bad_names(base_url: str) -> None:
    async with client(base_url) as http:
        r = await http.get("/v1/snapshot?bots=nova")
        assert r.status_code == 200 and list(r.json()["bots"]) == ["nova"]
        r = await http.get("/v1/snapshot?bots=nova,zed")
        assert r.status_code == 404 and "unknown bot 'zed'" in r.json()["detail"]
        assert (await http.get("/v1/snapshot?bots=Zed!")).status_code == 400
        r = await http.get("/v1/snapshot?bots=,")
        assert r.status_code == 400 and "bots is empty" in r.json()["detail"]


async def test_snapshot_is_consistent_while_changes_land(base_url: str, runtime: Runtime) -> None:
    """temperature i/100 and memory_n_results i change together; no snapshot may mix them,
    and each value's revision is at most the snapshot's."""
    svc = runtime.service
    done = False

    async def writer() -> None:
        nonlocal done
        for i in range(1, 40):
            await svc.patch(scopes.bot("mira"), {"temperature": i / 100, "memory_n_results": i}, actor="t")
        done = True

    seen = 0
    async with client(base_url) as http:
        task = asyncio.create_task(writer())
        while True:
            finished = done  # read once more after the writer ends: a fast writer may beat every read
            body = (await http.get("/v1/snapshot?bots=mira")).json()
            s = body["bots"]["mira"]["settings"]
            if s["temperature"]["source"] == "bot":
                assert round(s["temperature"]["value"] * 100) == s["memory_n_results"]["value"]
                assert s["temperature"]["revision"] <= body["revision"]
                seen += 1
            if finished:
                break
        await task
    assert seen > 0


async def test_a_bot_limited_token_bootstraps_and_watches_only_its_bots(base_url: str, runtime: Runtime) -> None:
    svc = runtime.service
    async with client(base_url, "mira-only") as http:
        r = await http.get("/v1/snapshot")
        assert r.status_code == 200 and list(r.json()["bots"]) == ["mira"]
        assert (await http.get("/v1/snapshot?bots=nova")).status_code == 403
        async with http.stream("GET", "/v1/watch?since=0&every_revision=true") as response:
            await svc.set_value(scopes.bot("nova"), "temperature", 0.3, actor="t")
            await svc.set_value(scopes.bot("mira"), "temperature", 0.6, actor="t")
            events = await asyncio.wait_for(read_events(response, 2), 10)
        async with http.stream("GET", "/v1/watch?since=0") as response:
            plain = await asyncio.wait_for(read_events(response, 1), 10)
    assert [e["id"] for e in plain] == ["2"], "without every_revision, nova's change is not told at all"
    # With it (what botsettings-client asks for), nova's change still moves the
    # revision (no gap), but reveals nothing of nova.
    assert [e["id"] for e in events] == ["1", "2"]
    assert events[0]["data"]["events"] == [] and events[0]["data"]["scopes"] == []
    assert events[1]["data"]["events"] == [
        {"revision": 2, "scope": "bots/mira", "key": "temperature", "op": "set", "value": 0.6}]


async def test_watch_events_carry_the_values_sets_and_deletes(base_url: str, runtime: Runtime) -> None:
    svc = runtime.service
    await svc.set_value(scopes.GLOBAL, "top_p", 0.5, actor="t")
    async with client(base_url) as http, http.stream("GET", "/v1/watch?since=0") as response:
        await svc.patch(scopes.bot("nova"), {"temperature": 0.1, "top_p": None}, actor="t")
        await svc.delete_value(scopes.GLOBAL, "top_p", actor="t")
        events = await asyncio.wait_for(read_events(response, 3), 10)
    assert [e["id"] for e in events] == ["1", "2", "3"]
    assert events[0]["data"]["events"][0]["value"] == 0.5  # from the log (the backlog)
    # nova had no stored top_p, so only temperature was written
    assert events[1]["data"]["events"] == [
        {"revision": 2, "scope": "bots/nova", "key": "temperature", "op": "set", "value": 0.1}]
    assert events[2]["data"]["events"] == [{"revision": 3, "scope": "global", "key": "top_p", "op": "delete"}]
