"""A Litestar app served by a real uvicorn on a loopback port, in the test's own loop
(so the app shares the test's runtime: database, resolver, listener)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from litestar import Litestar


@contextlib.asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def read_events(response: object, count: int) -> list[dict]:
    """The next ``count`` server-sent events of a streaming httpx response: id, event, data."""
    import json

    events: list[dict] = []
    current: dict = {}
    async for line in response.aiter_lines():  # type: ignore[attr-defined]
        if line.startswith("id:"):
            current["id"] = line[3:].strip()
        elif line.startswith("data:"):
            current["data"] = json.loads(line[5:])
        elif line == "" and current:
            events.append(current)
            current = {}
            if len(events) == count:
                break
    return events
