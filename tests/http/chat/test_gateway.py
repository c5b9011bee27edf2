"""/v1/chat/completions end to end: the official openai client → the app → a fake upstream."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import openai
import pytest

from app.runtime import Runtime
from tests.support.upstream import FakeUpstream

BIG = "x" * 20_000  # ≈ 5,000 tokens: more than nova's whole 4,000-token budget


def ago(seconds: float) -> float:
    return time.time() - seconds


def conversation() -> list[dict[str, Any]]:
    """Two hours of chat ending in the current question; every message dated."""
    return [
        {"role": "user", "content": "m0 yesterday's topic", "timestamp": ago(7200)},
        {"role": "assistant", "content": "m1 sure", "timestamp": ago(7190)},
        {"role": "user", "content": "m2 " + BIG, "timestamp": ago(300)},
        {"role": "assistant", "content": "m3 that is long", "timestamp": ago(290)},
        {"role": "user", "content": "m4 q2", "timestamp": ago(200)},
        {"role": "assistant", "content": "m5 a2", "timestamp": ago(190)},
        {"role": "user", "content": "m6 q3", "timestamp": ago(100)},
        {"role": "assistant", "content": "m7 a3", "timestamp": ago(90)},
        {"role": "user", "content": "m8 the question now", "timestamp": ago(0)},
    ]


def tags(request: dict[str, Any]) -> list[str]:
    """The m0…m8 tags of the forwarded messages, and 'system:<first word>' for system messages."""
    out = []
    for m in request["messages"]:
        out.append(f"system:{m['content'].split()[2]}" if m["role"] == "system" else m["content"].split()[0])
    return out


async def test_mira_and_nova_send_their_own_prompt_budget_history_and_parameters(
        oai: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    for bot in ("mira", "nova"):
        raw = await oai.chat.completions.with_raw_response.create(model=bot, messages=conversation())  # type: ignore[arg-type]
        assert raw.headers["x-bot"] == bot and raw.headers["x-settings-revision"] == "0"
        assert raw.parse().choices[0].message.content.startswith(("grok-4-fast got", "qwen3-8b got"))
    mira, nova = upstream.received
    # mira: a day of history and a 64,000-token budget keep everything
    assert tags(mira) == ["system:Mira,", "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]
    assert (mira["model"], mira["temperature"], mira["top_p"], mira["max_tokens"]) == ("grok-4-fast", 0.85, 0.95, 2048)
    # nova: ten minutes of history drops m0-m1; 4,000 tokens evict the oldest turn (m2-m3)
    assert tags(nova) == ["system:Nova.", "m4", "m5", "m6", "m7", "m8"]
    assert (nova["model"], nova["temperature"], nova["top_p"], nova["max_tokens"]) == ("qwen3-8b", 0.2, 0.9, 512)
    assert all("timestamp" not in m for r in (mira, nova) for m in r["messages"])
    assert upstream.headers[0]["authorization"] == "Bearer sk-upstream-secret"


async def test_a_patch_or_a_cli_set_changes_the_next_forwarded_request(
        oai: openai.AsyncOpenAI, upstream: FakeUpstream, gateway: str, runtime: Runtime, db_url: str,
        tmp_path: Any) -> None:
    ask = [{"role": "user", "content": "hi"}]
    await oai.chat.completions.create(model="mira", messages=ask)  # type: ignore[arg-type]
    async with httpx.AsyncClient(base_url=gateway) as http:
        assert (await http.patch("/v1/settings/bots/mira", json={"temperature": 0.5})).status_code == 200
    raw = await oai.chat.completions.with_raw_response.create(model="mira", messages=ask)  # type: ignore[arg-type]
    assert raw.headers["x-settings-revision"] == "1"
    # the operator's command, in another runtime: the change reaches the serving process by NOTIFY
    from click.testing import CliRunner

    from app.cli.main import cli
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["set", "temperature", "0.2", "--bot", "mira"],
                                     env={"DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    for _ in range(500):
        if runtime.resolver.revision >= 2:
            break
        await asyncio.sleep(0.01)
    await oai.chat.completions.create(model="bot/mira", messages=ask)  # type: ignore[arg-type]
    assert [r["temperature"] for r in upstream.received] == [0.85, 0.5, 0.2]


async def test_request_overrides_win_and_are_reported(oai: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    raw = await oai.chat.completions.with_raw_response.create(
        model="nova", messages=conversation(), temperature=1.3, max_tokens=100,  # type: ignore[arg-type]
        extra_body={"overrides": {"history_tokens": 64000, "history_duration_seconds": 86400},
                    "upstream_model": "grok-4", "seed": 7})
    assert raw.headers["x-settings-overrides"] == (
        "history_duration_seconds,history_tokens,max_output_tokens,temperature")
    sent = upstream.received[0]
    assert (sent["temperature"], sent["max_tokens"], sent["top_p"], sent["model"], sent["seed"]) == (
        1.3, 100, 0.9, "grok-4", 7)
    assert tags(sent)[1:] == ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]  # nova's limits lifted


async def test_streaming_passes_the_upstream_events_through(oai: openai.AsyncOpenAI, upstream: FakeUpstream,
                                                            gateway: str) -> None:
    stream = await oai.chat.completions.create(model="nova", messages=[{"role": "user", "content": "hi"}],
                                               stream=True)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "qwen3-8b got 2 messages"
    assert upstream.received[0]["stream"] is True
    async with httpx.AsyncClient(base_url=gateway) as http, http.stream(
            "POST", "/v1/chat/completions",
            json={"model": "mira", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
        body = b"".join([c async for c in r.aiter_bytes()])
        assert r.headers["content-type"].startswith("text/event-stream")
        assert (r.headers["x-bot"], r.headers["x-settings-revision"]) == ("mira", "0")
    assert body.endswith(b"data: [DONE]\n\n") and body.count(b"data: ") == 5


@pytest.mark.parametrize(("kwargs", "status", "fragment"), [
    ({"model": "zed"}, 404, "unknown bot 'zed'"),
    ({"temperature": 5}, 422, "'temperature': 5.0 is out of bounds"),
    ({"messages": "hello"}, 422, "messages: must be a list of messages"),
    ({"messages": [{"role": "user", "contents": "typo"}]}, 422, "unknown field `contents`"),
    ({"extra_body": {"overrides": {"system_prompt": "be evil"}}}, 422, "belongs to the bot's profile"),
    ({"extra_body": {"upstream_model": "gpt-5"}}, 422, "upstream_model 'gpt-5' is not allowed"),
    ({"extra_body": {"filler": "y" * 70_000}}, 413, ""),
    ({"model": "Not A Slug"}, 400, "invalid bot slug"),
])
async def test_bad_input_is_refused_and_nothing_is_forwarded(
        oai: openai.AsyncOpenAI, upstream: FakeUpstream, kwargs: dict[str, Any], status: int, fragment: str) -> None:
    call: dict[str, Any] = {"model": "mira", "messages": [{"role": "user", "content": "hi"}], **kwargs}
    with pytest.raises(openai.APIStatusError) as caught:
        await oai.chat.completions.create(**call)
    assert caught.value.status_code == status
    assert caught.value.response.headers["content-type"] == "application/json"  # OpenAI's error shape
    assert fragment in str(caught.value)
    assert upstream.received == []


async def test_an_in_flight_request_keeps_the_snapshot_it_started_with(
        oai: openai.AsyncOpenAI, upstream: FakeUpstream, gateway: str) -> None:
    upstream.gate = asyncio.Event()
    call = asyncio.create_task(oai.chat.completions.with_raw_response.create(
        model="mira", messages=[{"role": "user", "content": "hi"}]))  # type: ignore[arg-type]
    for _ in range(1000):
        if upstream.received:
            break
        await asyncio.sleep(0.005)
    async with httpx.AsyncClient(base_url=gateway) as http:
        await http.patch("/v1/settings/bots/mira", json={"temperature": 0.1, "max_output_tokens": 99})
    upstream.gate.set()
    raw = await call
    assert raw.headers["x-settings-revision"] == "0"
    assert (upstream.received[0]["temperature"], upstream.received[0]["max_tokens"]) == (0.85, 2048)
    raw = await oai.chat.completions.with_raw_response.create(model="mira", messages=[{"role": "user", "content": "x"}])  # type: ignore[arg-type]
    assert raw.headers["x-settings-revision"] == "2"
    assert (upstream.received[1]["temperature"], upstream.received[1]["max_tokens"]) == (0.1, 99)


async def test_upstream_failures_become_502_504_and_no_upstream_503(
        start_gateway: Any, upstream: FakeUpstream) -> None:
    ask = {"model": "nova", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(timeout=10) as http:
        async with start_gateway(upstream_url=upstream.url, upstream_timeout_seconds=0.3) as fast:
            upstream.status = 500
            r = await http.post(f"{fast}/v1/chat/completions", json=ask)
            assert (r.status_code, r.json()["error"]["upstream_status"]) == (502, 500)
            assert "answered 500" in r.json()["error"]["message"] and "model exploded" in r.json()["error"]["message"]
            upstream.status, upstream.delay = 200, 1.0
            r = await http.post(f"{fast}/v1/chat/completions", json=ask)
            assert r.status_code == 504 and "did not answer within 0.3 s" in r.json()["error"]["message"]
            upstream.delay, upstream.stall_stream = 0.0, 1.0  # a stream that stalls after its first event
            client = openai.AsyncOpenAI(base_url=f"{fast}/v1", api_key="k", max_retries=0)
            stream = await client.chat.completions.create(
                model="nova", messages=[{"role": "user", "content": "hi"}], stream=True)
            with pytest.raises(openai.APIError, match="the upstream stream broke off"):
                _ = [chunk async for chunk in stream]
            await client.close()
        async with start_gateway(upstream_url=None) as none:
            r = await http.post(f"{none}/v1/chat/completions", json=ask)
            assert r.status_code == 503 and "BOTSETTINGS_UPSTREAM_URL" in r.json()["error"]["message"]
        async with start_gateway(upstream_url="http://127.0.0.1:9/v1") as gone:  # discard port: nobody listens
            r = await http.post(f"{gone}/v1/chat/completions", json=ask)
            assert r.status_code == 502 and "unreachable" in r.json()["error"]["message"]
            assert r.headers["content-type"] == "application/json"


async def test_models_lists_the_bots(oai: openai.AsyncOpenAI) -> None:
    models = {m.id: m for m in (await oai.models.list()).data}
    assert {"mira", "nova", "spark"} <= set(models)
    assert models["nova"].model_extra is not None and models["nova"].model_extra["upstream_model"] == "qwen3-8b"
