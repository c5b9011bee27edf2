"""The lineage of every reply: X-Request-Id on each answer, the reply log read back,
per-bot figures, and replay at another revision — the app on loopback, a real
PostgreSQL, a fake upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest

from app.api.app import create_app
from app.config import Config
from app.runtime import Runtime
from tests.support.runtimes import RuntimeFactory
from tests.support.server import served
from tests.support.upstream import FakeUpstream

HI = [{"role": "user", "content": "hi there"}]


@pytest.fixture
async def http(gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        yield client


async def chat(http: httpx.AsyncClient, bot: str = "mira", headers: dict[str, str] | None = None,
               **body: object) -> httpx.Response:
    return await http.post("/v1/chat/completions", json={"model": bot, "messages": HI, **body}, headers=headers)


async def test_a_reply_carries_its_request_id_and_its_lineage_reads_back(
        http: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    sent = await chat(http, headers={"X-Request-Id": "turn-1"}, temperature=0.3)
    assert sent.status_code == 200
    assert sent.headers["x-request-id"] == "turn-1" and sent.headers["x-settings-revision"] == "0"
    reply = (await http.get("/v1/replies/turn-1")).json()
    assert (reply["bot"], reply["revision"], reply["status"], reply["model"]) == ("mira", 0, 200, "grok-4-fast")
    assert reply["settings"]["temperature"] == [0.3, "request"]
    assert reply["settings"]["top_p"] == [0.95, "default"]
    assert reply["overrides"] == {"temperature": {"field": "temperature", "value": 0.3}}
    assert reply["params"] == {k: v for k, v in upstream.received[0].items() if k != "messages"}
    assert reply["finish_reason"] == "stop" and reply["usage"]["total_tokens"] == 2
    assert reply["messages"] is None  # meta: no message text is kept
    assert reply["latency_ms"] > 0 and reply["context"]["messages_sent"] == 2
    generated = await chat(http)  # no id sent: one is made, and the reply is filed under it
    rid = generated.headers["x-request-id"]
    assert len(rid) == 32 and (await http.get(f"/v1/replies/{rid}")).json()["request_id"] == rid


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", ""])
async def test_a_malformed_request_id_is_a_400_naming_the_header_and_nothing_is_forwarded(
        http: httpx.AsyncClient, upstream: FakeUpstream, bad: str) -> None:
    answer = await chat(http, headers={"X-Request-Id": bad})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "X-Request-Id"
    assert upstream.received == []
    assert (await http.get("/v1/replies")).json()["replies"] == []


async def test_upstream_errors_truncations_and_streams_are_recorded_and_counted(
        http: httpx.AsyncClient, upstream: FakeUpstream, runtime: Runtime) -> None:
    upstream.finish_reason = "length"
    await chat(http, headers={"X-Request-Id": "cut"})
    upstream.finish_reason = "stop"
    streamed = await chat(http, "nova", headers={"X-Request-Id": "streamed"}, stream=True,
                          stream_options={"include_usage": True})
    assert streamed.status_code == 200 and streamed.headers["x-request-id"] == "streamed"
    upstream.status = 500
    failed = await chat(http, headers={"X-Request-Id": "failed"})
    assert failed.status_code == 502 and failed.headers["x-request-id"] == "failed"
    replies = {r["request_id"]: r for r in (await http.get("/v1/replies")).json()["replies"]}
    assert replies["cut"]["finish_reason"] == "length"
    assert replies["streamed"]["stream"] is True and replies["streamed"]["finish_reason"] == "stop"
    assert replies["streamed"]["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    assert (replies["failed"]["status"], replies["failed"]["upstream_status"]) == (502, 500)
    assert "model exploded" in replies["failed"]["error"]
    errors = (await http.get("/v1/replies", params={"status": "error"})).json()["replies"]
    assert [r["request_id"] for r in errors] == ["failed"]
    now = datetime.now(UTC)
    figures = await runtime.services.replies.bot_figures(["mira", "nova"], now - timedelta(minutes=5), now)
    assert (figures["mira"].count, figures["mira"].errors, figures["mira"].truncated) == (2, 1, 1)
    assert figures["nova"].count == 1 and figures["nova"].p95_latency_ms == replies["streamed"]["latency_ms"]


async def test_list_is_paged_and_filtered_and_bad_filters_are_400(http: httpx.AsyncClient) -> None:
    for n in range(5):
        await chat(http, "nova" if n == 2 else "mira", headers={"X-Request-Id": f"r{n}"})
    first = (await http.get("/v1/replies", params={"bot": "mira", "limit": 2})).json()
    second = (await http.get("/v1/replies", params={"bot": "mira", "limit": 2,
                                                     "cursor": first["next_cursor"]})).json()
    assert [r["request_id"] for r in first["replies"] + second["replies"]] == ["r4", "r3", "r1", "r0"]
    for params, name in (({"status": "fine"}, "status"), ({"limit": "0"}, "limit"), ({"since": "yesterday"}, "since"),
                         ({"bot": "Not A Slug!"}, None)):
        answer = await http.get("/v1/replies", params=params)
        assert answer.status_code == 400, params
        if name:
            assert answer.json()["errors"][0]["key"] == name
    assert (await http.get("/v1/replies/nobody-sent-this")).status_code == 404


async def test_a_reply_replayed_at_an_older_revision_shows_the_request_and_what_differs(
        http: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    await chat(http, headers={"X-Request-Id": "before"})  # revision 0: temperature 0.85 from bots.yaml
    assert (await http.patch("/v1/settings/bots/mira", json={"temperature": 0.5, "max_output_tokens": 300})
            ).status_code == 200  # revisions 1, 2
    assert (await http.patch("/v1/settings/global", json={"top_p": 0.5})).status_code == 200  # 3
    await chat(http, headers={"X-Request-Id": "after"})
    replay = (await http.post("/v1/replies/after/replay", json={"revision": 0})).json()
    assert (replay["sent_revision"], replay["revision"], replay["point"]) == (3, 0, "revision 0")
    assert replay["changed"] == [
        {"key": "max_output_tokens", "sent": [300, "bot"], "replay": [2048, "yaml"]},
        {"key": "temperature", "sent": [0.5, "bot"], "replay": [0.85, "yaml"]},
        {"key": "top_p", "sent": [0.5, "global"], "replay": [0.95, "default"]}]
    assert replay["request_changed"] == {"max_tokens": [300, 2048], "temperature": [0.5, 0.85], "top_p": [0.5, 0.95]}
    assert replay["request"] == {k: v for k, v in upstream.received[0].items() if k != "messages"}
    assert replay["messages_stored"] is False
    by_time = (await http.post("/v1/replies/before/replay", json={})).json()  # now: the later values
    assert by_time["point"] == "now" and by_time["request"]["temperature"] == 0.5
    assert [c["key"] for c in by_time["changed"]] == ["max_output_tokens", "temperature", "top_p"]
    same = (await http.post("/v1/replies/after/replay", json={"revision": 3})).json()
    assert same["changed"] == [] and same["request_changed"] == {}
    refused = await http.post("/v1/replies/after/replay", json={"forward": True})
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "messages_not_stored"
    assert len(upstream.received) == 2  # a replay forwards nothing unless asked (and able)
    for body in ({"revision": 99}, {"revision": 1, "as_of": "2026-01-01"}, {"as_of": "soon"}, {"revison": 1}):
        assert (await http.post("/v1/replies/after/replay", json=body)).status_code == 400, body


@pytest.fixture
async def full_log(runtimes: RuntimeFactory, config: Config, upstream: FakeUpstream) -> AsyncIterator[str]:
    """A gateway whose process keeps the messages (BOTSETTINGS_REPLY_LOG=full)."""
    rt = await runtimes.start(reply_log="full")
    async with served(create_app(msgspec.structs.replace(config, upstream_url=upstream.url, reply_log="full"),
                                 rt)) as url:
        yield url


async def test_with_full_logging_a_replay_is_the_exact_request_and_can_be_forwarded(
        full_log: str, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(base_url=full_log, timeout=10) as http:
        await chat(http, headers={"X-Request-Id": "kept"}, stream=True)
        assert (await http.get("/v1/replies/kept")).json()["messages"] == HI
        assert (await http.patch("/v1/settings/bots/mira", json={"temperature": 0.1})).status_code == 200
        replay = (await http.post("/v1/replies/kept/replay", json={"forward": True},
                                  headers={"X-Request-Id": "again"})).json()
        assert replay["messages_stored"] is True and replay["forwarded"] is True
        assert replay["changed"] == [{"key": "temperature", "sent": [0.85, "yaml"], "replay": [0.1, "bot"]}]
        assert replay["reply"]["choices"][0]["message"]["content"].startswith("grok-4-fast got 2 messages")
        original, again = upstream.received
        assert again["messages"] == original["messages"] and again["temperature"] == 0.1 and "stream" not in again
        assert (await http.get("/v1/replies/again")).json()["replay_of"] == "kept"


async def test_with_the_log_off_nothing_is_kept_but_the_request_id_is_still_answered(
        runtimes: RuntimeFactory, config: Config, upstream: FakeUpstream) -> None:
    rt = await runtimes.start(reply_log="off")
    async with served(create_app(msgspec.structs.replace(config, upstream_url=upstream.url), rt)) as url, \
            httpx.AsyncClient(base_url=url, timeout=10) as http:
        assert (await chat(http, headers={"X-Request-Id": "gone"})).headers["x-request-id"] == "gone"
        missing = await http.get("/v1/replies/gone")
        assert missing.status_code == 404 and "BOTSETTINGS_REPLY_LOG=off" in missing.json()["detail"]
