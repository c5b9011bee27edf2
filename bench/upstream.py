"""A minimal OpenAI-compatible upstream for the gateway bench: a fixed completion,
as fast as uvicorn can serve it. Run: python -m uvicorn bench.upstream:app --port N"""

from __future__ import annotations

import json
from typing import Any

REPLY = json.dumps({"id": "bench", "object": "chat.completion", "created": 1, "model": "bench",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(REPLY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": REPLY})
