"""The floor under the read path: a bare ASGI app under the same uvicorn, answering
every request with the bytes GET /v1/bots/mira/effective returned. What is left
between this and the real endpoint is ours (routing, guard, metrics, the handler)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BODY = Path(os.environ.get("BENCH_FLOOR_BODY", "/dev/null")).read_bytes()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
