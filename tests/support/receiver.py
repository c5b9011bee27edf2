"""A fake webhook receiver (an external server, faked) for the job handler tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.support.server import read_body, served


class Receiver:
    """A webhook receiver: answers each POST with the next planned status (or sleeps)."""

    def __init__(self) -> None:
        self.plan: list[int | float] = []  # int: a status; float: sleep that long, then 200
        self.bodies: list[dict[str, Any]] = []
        self.url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        self.bodies.append(json.loads(body))
        step = self.plan.pop(0) if self.plan else 200
        if isinstance(step, float):
            await asyncio.sleep(step)
            step = 200
        await send({"type": "http.response.start", "status": step, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": f"status {step}".encode()})


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A :class:`Receiver` served on loopback; its ``url`` is where jobs POST."""
    app = Receiver()
    async with served(app, lifespan="off") as url:
        app.url = f"{url}/jobs"
        yield app
