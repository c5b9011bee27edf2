"""Acceptance: the official `openai` client, used as a new user would, against the app
(real PostgreSQL) and a fake upstream on loopback — sync, async and streaming, the
model catalogue and every kind of error. The client must raise its own exception
class for each status, and its str() must explain what is wrong."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openai
import pytest

from app.runtime import Runtime
from tests.support.tokens import bearer, write_tokens_file
from tests.support.upstream import FakeUpstream

HI = [{"role": "user", "content": "hi"}]


async def add_bot_without_a_model(gateway: str) -> None:
    """What the platform's compatibility PUT does for a new bot: a value, no default_model."""
    async with httpx.AsyncClient(base_url=gateway) as http:
        r = await http.put("/v1/settings", json={"scope_type": "bot", "scope_id": "monika", "key": "temperature",
                                                 "value": 0.5})
        assert r.status_code == 200, r.text


async def test_the_catalogue_lists_the_bots_that_can_chat_with_when_they_appeared(
        oai: openai.AsyncOpenAI, gateway: str, runtime: Runtime, raw: asyncpg.Connection) -> None:
    await add_bot_without_a_model(gateway)
    async with httpx.AsyncClient(base_url=gateway) as http:  # a new bot that can chat, made later
        r = await http.put("/v1/settings", json={"scope_type": "bot", "scope_id": "ember", "key": "default_model",
                                                 "value": "grok-4-fast"})
        assert r.status_code == 200, r.text
    await runtime.service.refresh()
    models = {m.id: m for m in (await oai.models.list()).data}
    assert set(models) == {"mira", "nova", "spark", "ember"}  # monika cannot chat: not listed
    first = {r["scope_id"]: int(r["at"]) for r in await raw.fetch(
        "SELECT scope_id, extract(epoch FROM min(recorded_at)) AS at FROM settings_events GROUP BY scope_id")}
    began = int(await raw.fetchval("SELECT extract(epoch FROM min(recorded_at)) FROM settings_events"))
    assert models["ember"].created == first["ember"] > 0
    assert models["nova"].created == began  # only in bots.yaml: there since the log began
    assert models["nova"].model_extra is not None and models["nova"].model_extra["upstream_model"] == "qwen3-8b"
    # one model, by any spelling of its name, sync and async
    nova = await oai.models.retrieve("Nova")
    assert (nova.id, nova.created, nova.owned_by) == ("nova", began, "botsettings")
    sync = openai.OpenAI(base_url=oai.base_url, api_key="k", max_retries=0, timeout=10)
    assert (await asyncio.to_thread(sync.models.retrieve, "EMBER")).created == first["ember"]
    with pytest.raises(openai.NotFoundError) as caught:
        await oai.models.retrieve("monika")
    assert "bot 'monika' has no default_model" in str(caught.value) and caught.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError, match="unknown model 'zed'"):
        await asyncio.to_thread(sync.models.retrieve, "zed")
    sync.close()


async def test_chat_sync_async_and_streaming_with_any_spelling_of_the_bot(
        oai: openai.AsyncOpenAI, upstream: FakeUpstream) -> None:
    reply = await oai.chat.completions.create(model="Nova", messages=HI)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "qwen3-8b got 2 messages"
    sync = openai.OpenAI(base_url=oai.base_url, api_key="k", max_retries=0, timeout=10)

    def sync_calls() -> tuple[str | None, str]:
        one = sync.chat.completions.create(model="BOT/Mira", messages=HI)  # type: ignore[arg-type]
        stream = sync.chat.completions.create(model="MIRA", messages=HI, stream=True)  # type: ignore[arg-type]
        return one.choices[0].message.content, "".join(c.choices[0].delta.content or "" for c in stream)

    content, streamed = await asyncio.to_thread(sync_calls)
    assert content == streamed == "grok-4-fast got 2 messages"
    stream = await oai.chat.completions.create(model="Spark", messages=HI, stream=True)  # type: ignore[arg-type]
    streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert streamed == "llama-3.2-3b got 1 messages"  # spark has no system prompt
    assert [r["model"] for r in upstream.received] == ["qwen3-8b", "grok-4-fast", "grok-4-fast", "llama-3.2-3b"]
    sync.close()


@pytest.mark.parametrize(("call", "error", "fragments", "param", "code"), [
    ({"model": "monika"}, openai.UnprocessableEntityError, ["bot 'monika' has no default_model"],
     "default_model", "no_model"),
    ({"model": "zed"}, openai.NotFoundError, ["unknown bot 'zed'"], "model", "model_not_found"),
    ({"model": "Not A Slug"}, openai.BadRequestError, ["invalid bot slug 'not a slug'"], None, None),
    ({"temperature": 5}, openai.UnprocessableEntityError, ["'temperature': 5.0 is out of bounds"], None, None),
    ({"messages": "hello"}, openai.UnprocessableEntityError, ["messages: must be a list of messages"],
     "messages", "invalid_request"),
    ({"extra_body": {"upstream_model": "gpt-5"}}, openai.UnprocessableEntityError,
     ["upstream_model 'gpt-5' is not allowed"], "upstream_model", "model_not_allowed"),
    ({"extra_body": {"filler": "y" * 70_000}}, openai.APIStatusError, ["larger than the limit"], None,
     "payload_too_large"),
])
@pytest.mark.parametrize("stream", [False, True])
async def test_refusals_raise_the_clients_own_errors_that_explain(
        oai: openai.AsyncOpenAI, gateway: str, upstream: FakeUpstream, call: dict[str, Any], error: type[Exception],
        fragments: list[str], param: str | None, code: str | None, stream: bool) -> None:
    await add_bot_without_a_model(gateway)
    with pytest.raises(error) as caught:
        await oai.chat.completions.create(**{"model": "mira", "messages": HI, "stream": stream, **call})
    failure = caught.value
    assert isinstance(failure, openai.APIStatusError)
    assert all(f in str(failure) for f in fragments), str(failure)
    assert failure.type != "about:blank" and failure.response.headers["content-type"] == "application/json"
    if param is not None:
        assert failure.param == param
    if code is not None:
        assert failure.code == code
    assert upstream.received == []


async def test_prepare_refusals_in_the_clients_terms(oai: openai.AsyncOpenAI) -> None:
    ask = {"messages": [{"role": "user", "content": "x" * 20_000}]}
    with pytest.raises(openai.UnprocessableEntityError) as caught:  # /prepare through the client's generic post
        await oai.post("/bots/nova/prepare", body=ask, cast_to=object)
    assert "tokens over" in str(caught.value) and caught.value.code == "context_budget_exceeded"
    assert isinstance(caught.value.body, dict) and caught.value.body["over_by_tokens"] > 0
    with pytest.raises(openai.NotFoundError, match="unknown bot 'zed'"):
        await oai.post("/bots/zed/prepare", body={"messages": HI}, cast_to=object)


async def test_upstream_failures_in_the_clients_terms(start_gateway: Any, upstream: FakeUpstream) -> None:
    upstream.status = 500
    async with start_gateway(upstream_url=upstream.url) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0, timeout=10)
        with pytest.raises(openai.InternalServerError) as failed:
            await client.chat.completions.create(model="nova", messages=HI)  # type: ignore[arg-type]
        assert failed.value.status_code == 502 and "answered 500: " in str(failed.value)
        assert failed.value.type == "upstream_error" and isinstance(failed.value.body, dict)
        assert failed.value.body["upstream_status"] == 500
        await client.close()
    async with start_gateway(upstream_url=None) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0, timeout=10)
        with pytest.raises(openai.InternalServerError, match="BOTSETTINGS_UPSTREAM_URL") as failed:
            await client.chat.completions.create(model="nova", messages=HI, stream=True)  # type: ignore[arg-type]
        assert failed.value.status_code == 503
        await client.close()


async def test_with_tokens_the_client_learns_why_it_is_refused(
        start_gateway: Any, upstream: FakeUpstream, tmp_path: Path) -> None:
    async with start_gateway(upstream_url=upstream.url, tokens_file=write_tokens_file(tmp_path)) as url:
        def client(name: str | None) -> openai.AsyncOpenAI:
            key = bearer(name)["Authorization"].removeprefix("Bearer ") if name else "not-a-token"
            return openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=10)
        with pytest.raises(openai.AuthenticationError, match="the API token is not valid") as caught:
            await client(None).models.list()
        assert caught.value.code == "invalid_api_key"
        limited = client("mira-writer")
        assert [m.id for m in (await limited.models.list()).data] == ["mira"]
        with pytest.raises(openai.NotFoundError):  # as if it did not exist
            await limited.models.retrieve("nova")
        with pytest.raises(openai.PermissionDeniedError, match="limited to bots mira"):
            await limited.chat.completions.create(model="Nova", messages=HI)  # type: ignore[arg-type]
        reply = await limited.chat.completions.create(model="Mira", messages=HI)  # type: ignore[arg-type]
        assert reply.choices[0].message.content == "grok-4-fast got 2 messages"
        assert (await client("reader").models.retrieve("nova")).id == "nova"
