"""Conversations pinned to a settings revision (X-Conversation-Id, X-Settings-Pin): a
change made mid-conversation does not shift the bot under a user; pins expire, are
visible, work across processes, and a pin older than the history kept for pins is
refused — the app on loopback, a real PostgreSQL, a fake upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.runtimes import RuntimeFactory
from tests.support.upstream import FakeUpstream

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def http(gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        yield client


async def chat(http: httpx.AsyncClient, conversation: str | None = None, pin: str | None = None,
               bot: str = "mira") -> httpx.Response:
    headers = {}
    if conversation is not None:
        headers["X-Conversation-Id"] = conversation
    if pin is not None:
        headers["X-Settings-Pin"] = pin
    return await http.post("/v1/chat/completions", json={"model": bot, "messages": HI}, headers=headers)


async def patch(http: httpx.AsyncClient, scope: str, body: dict[str, object]) -> None:
    answer = await http.patch(f"/v1/settings/{scope}", json=body)
    assert answer.status_code == 200, answer.text


async def test_a_conversation_keeps_its_pinned_values_across_a_change_and_a_new_one_gets_the_new(
        http: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    first = await chat(http, "conv-a")
    assert first.headers["x-settings-revision"] == "0" and first.headers["x-settings-pin"] == "0"
    await patch(http, "bots/mira", {"temperature": 0.5})  # revision 1, mid-conversation
    later = await chat(http, "conv-a")
    fresh = await chat(http, "conv-b")
    unpinned = await chat(http)
    assert [r["temperature"] for r in upstream.received] == [0.85, 0.85, 0.5, 0.5]
    assert later.headers["x-settings-revision"] == "0" and later.headers["x-conversation-id"] == "conv-a"
    assert fresh.headers["x-settings-revision"] == "1" and "x-settings-pin" not in unpinned.headers
    pins = (await http.get("/v1/conversations/conv-a")).json()["pins"]
    assert [(p["bot"], p["revision"], p["explicit"]) for p in pins] == [("mira", 0, False)]
    reply = (await http.get(f"/v1/replies/{later.headers['x-request-id']}")).json()
    assert (reply["conversation_id"], reply["pinned"], reply["revision"]) == ("conv-a", True, 0)
    assert reply["settings"]["temperature"] == [0.85, "yaml"]


async def test_an_explicit_pin_and_latest_move_a_conversation_and_bad_pins_are_400(
        http: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    await patch(http, "bots/mira", {"temperature": 0.5})  # 1
    await patch(http, "bots/mira", {"temperature": 0.4})  # 2
    assert (await chat(http, "conv", pin="1")).headers["x-settings-revision"] == "1"
    assert (await chat(http, "conv")).headers["x-settings-revision"] == "1"  # the explicit pin holds
    pins = (await http.get("/v1/conversations/conv")).json()["pins"]
    assert (pins[0]["revision"], pins[0]["explicit"]) == (1, True)
    released = await chat(http, "conv", pin="latest")
    assert released.headers["x-settings-revision"] == "2" and "x-settings-pin" not in released.headers
    await patch(http, "bots/mira", {"temperature": 0.3})  # 3: a released conversation follows the latest
    assert (await chat(http, "conv")).headers["x-settings-revision"] == "3"
    assert (await http.get("/v1/conversations/conv")).json()["pins"][0]["revision"] is None
    assert (await chat(http, pin="2")).headers["x-settings-revision"] == "2"  # one request, nothing stored
    assert [r["temperature"] for r in upstream.received] == [0.5, 0.5, 0.4, 0.3, 0.4]
    sent = len(upstream.received)
    for conversation, pin, param in (("c", "two", "X-Settings-Pin"), ("c", "99", "X-Settings-Pin"),
                                     ("has space", None, "X-Conversation-Id"), ("x" * 200, "1", "X-Conversation-Id")):
        answer = await chat(http, conversation, pin)
        assert answer.status_code == 400, (conversation, pin)
        assert answer.json()["error"]["param"] == param
    assert len(upstream.received) == sent
    assert (await http.get("/v1/conversations/c")).json()["pins"] == []


async def test_prepare_reads_a_conversation_pin_but_never_makes_one(http: httpx.AsyncClient) -> None:
    await chat(http, "conv")
    await patch(http, "bots/mira", {"temperature": 0.5})
    headers = {"X-Conversation-Id": "conv"}
    prepared = await http.post("/v1/bots/mira/prepare", json={"messages": HI}, headers=headers)
    assert prepared.json()["revision"] == 0 and prepared.json()["request"]["temperature"] == 0.85
    other = await http.post("/v1/bots/mira/prepare", json={"messages": HI}, headers={"X-Conversation-Id": "dry"})
    assert other.json()["revision"] == 1 and other.headers["x-request-id"]
    assert (await http.get("/v1/conversations/dry")).json()["pins"] == []


async def test_a_pin_made_in_one_process_holds_in_another_and_expires_when_idle(
        http: httpx.AsyncClient, runtimes: RuntimeFactory, upstream: FakeUpstream) -> None:
    other = (await runtimes.start()).services.conversations  # another process: its own caches and listener
    await patch(http, "global", {"conversation_pin_idle_seconds": 2})  # 1
    assert (await chat(http, "conv")).headers["x-settings-revision"] == "1"
    await patch(http, "bots/mira", {"temperature": 0.5})  # 2
    there = await other.resolve("mira", {}, "conv", None)
    assert (there.snapshot.revision, there.snapshot["temperature"], there.pinned) == (1, 0.85, True)
    await asyncio.sleep(2.5)  # unused for longer than conversation_pin_idle_seconds
    assert (await http.get("/v1/conversations/conv")).json()["pins"] == []  # expired: no longer shown
    renewed = await other.resolve("mira", {}, "conv", None)
    assert renewed.snapshot.revision == 2  # a new first request: pinned at the latest
    assert (await chat(http, "conv")).headers["x-settings-revision"] == "2"  # and this process agrees
    assert [r["temperature"] for r in upstream.received] == [0.85, 0.5]


async def test_a_pin_older_than_the_kept_history_is_refused_never_moved(
        http: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    await patch(http, "global", {"conversation_pin_max_age_seconds": 1})  # 1
    assert (await chat(http, "old")).headers["x-settings-revision"] == "1"
    await patch(http, "bots/mira", {"temperature": 0.5})  # 2 replaces mira's settings at revision 1
    await patch(http, "bots/nova", {"temperature": 0.1})  # 3 (another bot: mira at 2 is still current)
    await asyncio.sleep(1.5)
    refused = await chat(http, "old")
    assert refused.status_code == 410
    error = refused.json()["error"]
    assert error["param"] == "X-Settings-Pin" and error["code"] == "pin_too_old" and error["revision"] == 1
    assert "X-Settings-Pin: latest" in error["message"]
    assert (await chat(http, pin="1")).status_code == 410
    assert (await http.get("/v1/conversations/old")).json()["pins"][0]["revision"] == 1  # not silently moved
    assert (await chat(http, pin="2")).headers["x-settings-revision"] == "2"  # mira unchanged since 2
    moved = await chat(http, "old", pin="latest")
    assert moved.status_code == 200 and moved.headers["x-settings-revision"] == "3"
    assert [r["temperature"] for r in upstream.received] == [0.85, 0.5, 0.5]
