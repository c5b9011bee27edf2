"""Reading server-sent events from a streaming httpx response, in tests."""

from __future__ import annotations

import json


async def read_events(response: object, count: int) -> list[dict]:
    """The next ``count`` server-sent events of a streaming httpx response: id, event, data."""
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
