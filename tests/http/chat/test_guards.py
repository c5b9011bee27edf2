"""Guarded changes with the gateway in front of a fake upstream: a change whose bots'
error rate rises after it is reverted within its window, with the figures in the
revert's reason; one with no degradation passes; a later change ends the guard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from app.config import Config
from app.runtime import Runtime
from tests.support.polling import eventually
from tests.support.upstream import FakeUpstream

HI = [{"role": "user", "content": "hi there"}]
WINDOW = "4s"


@pytest.fixture
def config(config: Config) -> Config:
    return msgspec.structs.replace(config, guard_min_samples=5, leader_check_seconds=0.2)


@pytest.fixture
async def http(gateway: str, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await runtime.start_scheduler()  # the leader evaluates the guards
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        yield client


async def _replies(http: httpx.AsyncClient, runtime: Runtime, n: int, bot: str = "mira") -> list[int]:
    statuses = [(await http.post("/v1/chat/completions", json={"model": bot, "messages": HI})).status_code
                for _ in range(n)]
    await runtime.services.replies.recorder.flush()
    return statuses


async def _guard(http: httpx.AsyncClient, change_id: str, status: str) -> dict[str, Any] | None:
    detail = (await http.get(f"/v1/changes/{change_id}")).json()
    return detail if detail["guard"] and detail["guard"]["status"] == status else None


async def test_rising_error_rate_reverts_the_change_with_the_figures_in_its_reason(
        http: httpx.AsyncClient, runtime: Runtime, upstream: FakeUpstream, raw: asyncpg.Connection) -> None:
    assert set(await _replies(http, runtime, 6)) == {200}  # the window before: all fine
    r = await http.patch(f"/v1/settings/bots/mira?guard={WINDOW}", json={"temperature": 0.2},
                         headers={"X-Change-Reason": "colder"})
    assert r.status_code == 200, r.text
    change_id = r.json()["change_id"]
    watching = (await http.get(f"/v1/changes/{change_id}")).json()["guard"]
    assert watching["status"] == "watching" and watching["bots"] == ["mira"]
    upstream.status = 500  # the upstream starts failing right after the change
    assert set(await _replies(http, runtime, 6)) == {502}
    detail = await eventually(lambda: _guard(http, change_id, "reverted"), timeout=4)
    guard = detail["guard"]
    assert "mira error rate 0.0% → 100.0% (6 → 6 replies)" in guard["note"]
    assert guard["figures"]["mira"]["before"]["error_rate"] == 0.0
    assert guard["figures"]["mira"]["after"]["error_rate"] == 1.0
    revert = (await http.get(f"/v1/changes/{guard['revert_change_id']}")).json()["change"]
    assert revert["source"] == "guard" and revert["reverts"] == change_id and revert["actor"] == "guard"
    assert "error rate 0.0% → 100.0%" in revert["reason"]
    assert (await http.get("/v1/settings/bots/mira")).json()["settings"] == {}  # temperature inherits again
    rows = await raw.fetch("SELECT source FROM settings_events ORDER BY revision")
    assert [r["source"] for r in rows] == ["api", "guard"]  # reverted once
    page = await http.get("/history", params={"in": "bots/mira"})
    assert "guard: reverted" in page.text and "error rate 0.0% → 100.0%" in page.text


async def test_no_degradation_the_guard_passes_when_its_window_ends(
        http: httpx.AsyncClient, runtime: Runtime, raw: asyncpg.Connection) -> None:
    await _replies(http, runtime, 6)
    r = await http.put(f"/v1/settings/bots/mira/temperature?guard={WINDOW}", json={"value": 0.4})
    assert r.status_code == 200, r.text
    change_id = r.json()["change_id"]
    await _replies(http, runtime, 6)
    await asyncio.sleep(1.5)
    assert await _guard(http, change_id, "watching")  # not decided before its window ends
    detail = await eventually(lambda: _guard(http, change_id, "passed"), timeout=8)
    assert "judged: mira" in detail["guard"]["note"]
    assert await raw.fetchval("SELECT count(*) FROM settings_events WHERE source = 'guard'") == 0
    assert (await http.get("/v1/settings/bots/mira/temperature")).json()["value"] == 0.4


async def test_a_later_change_to_the_same_keys_ends_the_guard_without_a_revert(
        http: httpx.AsyncClient, runtime: Runtime, upstream: FakeUpstream, raw: asyncpg.Connection) -> None:
    await _replies(http, runtime, 6)
    r = await http.patch(f"/v1/settings/bots/mira?guard={WINDOW}", json={"temperature": 0.2})
    change_id = r.json()["change_id"]
    assert (await http.patch("/v1/settings/bots/mira", json={"temperature": 0.3})).status_code == 200
    upstream.status = 500
    await _replies(http, runtime, 6)
    detail = await eventually(lambda: _guard(http, change_id, "ended"), timeout=4)
    assert "a later change to bots/mira:temperature ended the guard" in detail["guard"]["note"]
    assert await raw.fetchval("SELECT count(*) FROM settings_events WHERE source = 'guard'") == 0


async def test_a_bad_guard_is_refused_and_nothing_is_written(http: httpx.AsyncClient,
                                                             raw: asyncpg.Connection) -> None:
    for guard in ("15 minutes", "0s", "30d", "-1m"):
        r = await http.patch(f"/v1/settings/bots/mira?guard={guard}", json={"temperature": 0.2})
        assert r.status_code == 422 and "guard" in r.text, (guard, r.text)
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0
    assert await raw.fetchval("SELECT count(*) FROM change_guards") == 0
