"""The gateway's baseline: a bare reverse proxy written with the same HTTP library
(aiohttp, one pooled session per process, as app/pipeline/gateway.py), under the same
uvicorn. It forwards the body it receives to the upstream's /chat/completions and
returns the answer: no settings, no parsing, no validation, no logging.
Run: BENCH_UPSTREAM=http://127.0.0.1:N/v1 python -m uvicorn bench.bare_proxy:app --port M"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:1/v1")
_session: aiohttp.ClientSession | None = None


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    global _session
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        if _session is not None:
            await _session.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if _session is None:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))
    async with _session.post(f"{UPSTREAM}/chat/completions", data=body,
                             headers={"Content-Type": "application/json"}) as r:
        content = await r.read()
        await send({"type": "http.response.start", "status": r.status,
                    "headers": [(b"content-type", r.headers.get("Content-Type", "application/json").encode())]})
    await send({"type": "http.response.body", "body": content})
