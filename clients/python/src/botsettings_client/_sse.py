"""Server-sent events from an httpx streaming response: (id, event, data) per message.

Parsed from the raw bytes (no per-line text decoding): a process may follow with many
clients, and each message costs every one of them this parse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass(slots=True)
class Message:
    id: str | None
    event: str
    data: bytes


def _parse(block: bytes) -> Message | None:
    """One message (the lines between blank lines); None for a comment only (a heartbeat)."""
    event_id: str | None = None
    event, data = "message", list[bytes]()
    for line in block.split(b"\n"):
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            data.append(value)
        elif name == b"id":
            event_id = value.decode()
        elif name == b"event":
            event = value.decode()
    return Message(event_id, event, b"\n".join(data)) if data else None


async def messages(response: httpx.Response) -> AsyncIterator[Message | None]:
    """Each message; None for a comment (the service's heartbeat), so callers see life."""
    buffer = b""
    async for chunk in response.aiter_raw():
        buffer += chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk
        while (end := buffer.find(b"\n\n")) >= 0:
            block, buffer = buffer[:end], buffer[end + 2:]
            if block:
                yield _parse(block)
