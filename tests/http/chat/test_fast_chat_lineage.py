"""The reply lineage on both chat paths (app/api/fast_chat.py and the framework's
handler): each forwarded request is recorded in the reply log under the request id
its answer carries, and what the fast path hands to the framework (a conversation, a
pin, a malformed request id) is answered alike either way — the app on loopback, a
real PostgreSQL, a fake upstream."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.http.chat.test_fast_chat import ASK, both, shown
from tests.support.upstream import FakeUpstream

# What differs between two records of the same request: when, how long, and its id.
_PER_REQUEST = {"request_id", "at", "latency_ms"}


async def reply(http: httpx.AsyncClient, base: str, request_id: str) -> dict[str, Any]:
    found = await http.get(f"{base}/v1/replies/{request_id}")
    assert found.status_code == 200, found.text
    record: dict[str, Any] = found.json()
    return record


def same(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in _PER_REQUEST}


async def test_a_plain_request_is_recorded_with_its_request_id_as_the_frameworks_is(
        gateway: str, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        fast, full = await both(http, gateway, json={**ASK, "overrides": {"top_p": 0.5}},
                                headers={"X-Request-Id": "plain-1"})
        assert fast.headers["x-request-id"] == full.headers["x-request-id"] == "plain-1"
        listed = (await http.get(f"{gateway}/v1/replies")).json()["replies"]
        assert [r["request_id"] for r in listed] == ["plain-1", "plain-1"]  # one record per forwarded request
        made, _ = await both(http, gateway, json=ASK)  # no id sent: the one the answer carries
        made_id = made.headers["x-request-id"]
        record = await reply(http, gateway, made_id)
        assert (record["request_id"], record["bot"], record["status"], record["finish_reason"]) == (
            made_id, "mira", 200, "stop")
        assert record["settings"]["temperature"] == [0.3, "request"] and record["stream"] is False

        streamed = {**ASK, "stream": True, "stream_options": {"include_usage": True}}
        fast, full = await both(http, gateway, json=streamed, headers={"X-Request-Id": "plain-stream"})
        assert shown(fast) == shown(full) and fast.text.endswith("data: [DONE]\n\n")
        records = [r for r in (await http.get(f"{gateway}/v1/replies")).json()["replies"]
                   if r["request_id"] == "plain-stream"]
        assert len(records) == 2 and same(records[0]) == same(records[1])
        assert records[0]["stream"] is True and records[0]["usage"]["total_tokens"] == 9

        upstream.status = 500
        fast, full = await both(http, gateway, json=ASK, headers={"X-Request-Id": "plain-failed"})
        assert (fast.status_code, full.status_code) == (502, 502)
        failed = [r for r in (await http.get(f"{gateway}/v1/replies", params={"status": "error"})).json()["replies"]
                  if r["request_id"] == "plain-failed"]
        assert len(failed) == 2 and same(failed[0]) == same(failed[1])
        assert (failed[0]["status"], failed[0]["upstream_status"]) == (502, 500)


async def test_a_plain_stream_left_by_its_caller_is_recorded_as_499(gateway: str, upstream: FakeUpstream) -> None:
    upstream.stall_stream = 0.5
    async with httpx.AsyncClient(timeout=10) as http:
        async with http.stream("POST", f"{gateway}/v1/chat/completions", json={**ASK, "stream": True},
                               headers={"X-Request-Id": "left"}) as r:
            assert (await anext(r.aiter_bytes())).startswith(b"data: ")
        for _ in range(200):  # recorded when the gateway notices the caller left
            found = await http.get(f"{gateway}/v1/replies/left")
            if found.status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert found.status_code == 200 and found.json()["status"] == 499


async def test_pinned_conversations_and_bad_request_ids_are_answered_alike_either_way(
        gateway: str, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        first = await http.post(f"{gateway}/v1/chat/completions", json=ASK, headers={"X-Conversation-Id": "c-1"})
        assert first.headers["x-settings-pin"] == "0"
        changed = await http.patch(f"{gateway}/v1/settings/bots/mira", json={"system_prompt": "Be brief."})
        assert changed.status_code == 200
        for headers in ({"X-Conversation-Id": "c-1", "X-Request-Id": "pinned"},  # still at revision 0
                        {"X-Settings-Pin": "0"},  # this one request at revision 0
                        {"X-Conversation-Id": "c-2"}):  # a new conversation: revision 1, pinned by the first
            upstream.received.clear()
            fast, full = await both(http, gateway, json=ASK, headers=headers)
            assert fast.status_code == 200 and shown(fast) == shown(full), headers
            assert upstream.received[0] == upstream.received[1], headers
        assert fast.headers["x-settings-revision"] == "1" and fast.headers["x-conversation-id"] == "c-2"
        pinned = [r for r in (await http.get(f"{gateway}/v1/replies")).json()["replies"]
                  if r["request_id"] == "pinned"]
        assert [(r["revision"], r["pinned"], r["conversation_id"]) for r in pinned] == [(0, True, "c-1")] * 2
        upstream.received.clear()
        for headers in ({"X-Request-Id": "has space"}, {"X-Conversation-Id": "semi;colon"}, {"X-Settings-Pin": "99"}):
            fast, full = await both(http, gateway, json=ASK, headers=headers)
            assert fast.status_code == 400 and shown(fast) == shown(full), headers
        assert upstream.received == []
