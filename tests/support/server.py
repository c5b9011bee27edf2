"""Serve an ASGI app (ours, or a fake of an external server) over real HTTP on a free
loopback port, in the test's own event loop: the app shares the test's runtime (database,
read model, listener) and a fake can be inspected directly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn


@asynccontextmanager
async def served(app: Any, *, lifespan: Literal["on", "off"] = "on") -> AsyncIterator[str]:
    """Yield the base URL of ``app`` under uvicorn, logging as `serve` does (no uvicorn
    logging config, no access log)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan=lifespan))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def read_body(receive: Any) -> bytes:
    """The whole request body an ASGI app receives (it may come in several messages)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
