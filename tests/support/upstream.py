"""A fake of an external server for the chat tests: an OpenAI-compatible upstream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from tests.support.server import read_body, served

Scope = dict[str, Any]


class FakeUpstream:
    """A tiny OpenAI-compatible model server (an external server, faked): it records each
    request and answers with a completion (or an SSE stream) naming what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.delay = 0.0
        self.gate: asyncio.Event | None = None  # when set, requests wait for it
        self.stall_stream = 0.0  # seconds a stream stalls after its first event
        self.finish_reason = "stop"  # "length": as if max_tokens cut the reply short
        self.url = ""

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Scope]],
                      send: Callable[[Scope], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await read_body(receive)
        request = json.loads(body)
        self.received.append(request)
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            await _respond(send, self.status, b'{"error": {"message": "model exploded"}}')
            return
        text = f"{request['model']} got {len(request['messages'])} messages"
        if request.get("stream"):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            words = text.split(" ")
            for i, word in enumerate(words):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": request["model"],
                         "choices": [{"index": 0, "delta": {"content": word if i == 0 else " " + word},
                                      "finish_reason": self.finish_reason if i == len(words) - 1 else None}]}
                await send({"type": "http.response.body", "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                            "more_body": True})
                if self.stall_stream:
                    await asyncio.sleep(self.stall_stream)
            if (request.get("stream_options") or {}).get("include_usage"):  # OpenAI's last chunk: usage only
                usage = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": request["model"],
                         "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(words),
                                                  "total_tokens": 5 + len(words)}}
                await send({"type": "http.response.body", "body": b"data: " + json.dumps(usage).encode() + b"\n\n",
                            "more_body": True})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
            return
        reply = {"id": "c1", "object": "chat.completion", "created": 1, "model": request["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                              "finish_reason": self.finish_reason}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        await _respond(send, 200, json.dumps(reply).encode())


async def _respond(send: Callable[[Scope], Awaitable[None]], status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def serving_upstream() -> AsyncIterator[FakeUpstream]:
    """A :class:`FakeUpstream` on loopback; its ``url`` is the base URL of its /v1 API."""
    fake = FakeUpstream()
    async with served(fake) as url:
        fake.url = f"{url}/v1"
        yield fake
