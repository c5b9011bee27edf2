"""Server-sent events from an httpx streaming response: (id, event, data) per message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass(slots=True)
class Message:
    id: str | None
    event: str
    data: str


async def messages(response: httpx.Response) -> AsyncIterator[Message | None]:
    """Each message; None for a comment (the service's heartbeat), so callers see life."""
    event_id: str | None = None
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield Message(event_id, event, "\n".join(data))
            event_id, event, data = None, "message", []
        elif line.startswith(":"):
            yield None
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "id":
                event_id = value
            elif name == "event":
                event = value
