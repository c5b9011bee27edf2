"""The plain chat request is answered below the framework (app/api/fast_chat.py); the
same request with a same-origin ``Origin`` header goes through the framework. Both
must answer alike: status, body and headers, successes and failures."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.logs import captured_logs
from tests.support.upstream import FakeUpstream

ASK = {"model": "Mira", "messages": [{"role": "user", "content": "hi", "timestamp": 1.5}], "temperature": 0.3}
_VARYING = {"date", "x-request-id", "server"}


def shown(r: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
    return r.status_code, body, {k: v for k, v in r.headers.items() if k not in _VARYING}


async def both(http: httpx.AsyncClient, base: str, content: bytes | None = None,
               **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
    """The same request, plain (the fast path) and with this origin (the framework's path)."""
    kwargs.setdefault("headers", {})
    if content is not None:
        kwargs.update(content=content, headers={"Content-Type": "application/json", **kwargs["headers"]})
    fast = await http.post(f"{base}/v1/chat/completions", **kwargs)
    full = await http.post(f"{base}/v1/chat/completions", **{**kwargs, "headers": {**kwargs["headers"],
                                                                                     "Origin": base}})
    return fast, full


async def test_an_answer_and_its_headers_are_the_same_on_both_paths(gateway: str, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        fast, full = await both(http, gateway, json={**ASK, "overrides": {"top_p": 0.5}},
                                headers={"X-Request-Id": "req-1"})
    assert fast.status_code == 200 and fast.headers["x-request-id"] == "req-1"
    assert shown(fast) == shown(full)
    assert {"x-bot", "x-settings-revision", "x-settings-overrides", "x-content-type-options"} <= set(fast.headers)
    assert upstream.received[0] == upstream.received[1]
    assert upstream.received[0]["temperature"] == 0.3 and "timestamp" not in upstream.received[0]["messages"][0]


async def test_refusals_are_the_same_on_both_paths_and_nothing_is_forwarded(
        gateway: str, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for content in (b'{"model": "mira", "model": "nova", "messages": []}',  # a key twice
                        b'{"model": "mira", "messages": [{"role": "user", "content": "a\\u0000b"}]}',
                        b"[" * 40 + b"]" * 40,
                        b'{"model": "mira", "messages": [{"role": "user", "content": 1e400}]}',
                        b'{"model": "mira", "messages": "hi"}',
                        b'{"model": "nobody", "messages": [{"role": "user", "content": "hi"}]}',
                        b"not json"):
            fast, full = await both(http, gateway, content)
            assert 400 <= fast.status_code < 500 and set(fast.json()) == {"error"}, content
            assert shown(fast) == shown(full), content
        fast, full = await both(http, gateway, json.dumps(ASK).encode(), headers={"Content-Type": "text/plain"})
        assert fast.status_code == 415 and shown(fast) == shown(full)
    assert upstream.received == []


async def test_a_body_over_the_limit_sent_in_chunks_is_refused(gateway: str, upstream: FakeUpstream) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"model": "mira", "messages": [{"role": "user", "content": "'
        for _ in range(80):
            yield b"y" * 1024  # the gateway fixture's limit is 64 KiB
        yield b'"}]}'
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{gateway}/v1/chat/completions", content=chunks(),
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "65536 bytes" in r.json()["error"]["message"]
    assert upstream.received == []


async def test_upstream_failures_are_the_same_on_both_paths(start_gateway: Any, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        async with start_gateway(upstream_url=upstream.url, upstream_timeout_seconds=0.3) as base:
            upstream.status = 503
            fast, full = await both(http, base, json=ASK)
            assert fast.status_code == 502 and fast.json()["error"]["upstream_status"] == 503
            assert shown(fast) == shown(full)
            upstream.status, upstream.delay = 200, 1.0
            fast, full = await both(http, base, json=ASK)
            assert fast.status_code == 504 and shown(fast) == shown(full)
        upstream.delay = 0.0
        async with start_gateway(upstream_url="http://127.0.0.1:9/v1") as base:  # nobody listens
            fast, full = await both(http, base, json=ASK)
            assert fast.status_code == 502 and fast.json()["error"]["type"] == "upstream_error"
            assert shown(fast) == shown(full)
        async with start_gateway(upstream_url=None) as base:
            fast, full = await both(http, base, json=ASK)
            assert fast.status_code == 503 and shown(fast) == shown(full)


async def test_a_stream_is_relayed_as_it_comes_and_dropped_when_the_caller_leaves(
        gateway: str, upstream: FakeUpstream) -> None:
    ask = {**ASK, "stream": True}
    async with httpx.AsyncClient(timeout=10) as http:
        fast, full = await both(http, gateway, json=ask)
        assert fast.headers["content-type"].startswith("text/event-stream")
        assert shown(fast) == shown(full) and fast.text.endswith("data: [DONE]\n\n")
        upstream.stall_stream = 0.5  # each event half a second after the one before
        with captured_logs(level="info") as logs:
            async with http.stream("POST", f"{gateway}/v1/chat/completions", json=ask) as r:
                first = await anext(r.aiter_bytes())
                assert first.startswith(b"data: ") and r.headers["x-bot"] == "mira"
            # The caller left after one event: the gateway stops relaying at once.
            for _ in range(200):
                if "gateway.stream_abandoned" in logs.getvalue():
                    break
                await asyncio.sleep(0.01)
        assert "gateway.stream_abandoned" in logs.getvalue()


async def test_chat_requests_are_counted_in_the_request_metrics(gateway: str) -> None:
    pattern = re.compile(r'botsettings_requests_total\{[^}]*path="/v1/chat/completions"[^}]*'
                         r'status_code="200"[^}]*\} (\S+)')

    async def count(http: httpx.AsyncClient) -> float:
        found = pattern.search((await http.get(f"{gateway}/metrics")).text)
        return float(found.group(1)) if found else 0.0

    async with httpx.AsyncClient(timeout=10) as http:
        before = await count(http)
        fast, full = await both(http, gateway, json=ASK)
        assert (fast.status_code, full.status_code) == (200, 200)
        assert await count(http) == before + 2
