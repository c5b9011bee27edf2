"""The chat routes' lineage headers: the request id every answer carries, the
conversation a request belongs to and the revision it is pinned to, and the hand-off
of each forwarded request to the reply log (app/services/reply_recorder.py).

Kept out of app/api/chat.py so that the gateway's handlers stay a few lines: take
the lineage, prepare (pinned or live), forward, record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from litestar import Request

from app.domain import scopes
from app.http.auth import require_read
from app.http.request_log import REQUEST_ID
from app.pipeline.errors import UpstreamError, UpstreamNotConfigured, UpstreamTimeout
from app.pipeline.prepare import Prepared
from app.services.replies import check_id
from app.services.reply_recorder import Forwarded, ReplyRecorder

if TYPE_CHECKING:
    from app.api.chat import Chat

T = TypeVar("T")
REQUEST_HEADER = "X-Request-Id"
CONVERSATION_HEADER = "X-Conversation-Id"
PIN_HEADER = "X-Settings-Pin"


class Lineage:
    __slots__ = ("at", "conversation_id", "headers", "pin", "pinned", "request_id", "started")

    def __init__(self, request_id: str, conversation_id: str | None, pin: str | None) -> None:
        self.started = time.perf_counter()
        self.at = time.time()
        self.request_id = request_id
        self.conversation_id = conversation_id
        self.pin = pin
        self.pinned = False
        self.headers = {REQUEST_HEADER: request_id}
        if conversation_id is not None:
            self.headers[CONVERSATION_HEADER] = conversation_id

    @classmethod
    def of(cls, request: Request[Any, Any, Any]) -> Lineage:
        """The request's id (the caller's, checked: a 400 names the header; else the one
        the request log made), conversation and pin headers."""
        headers = request.headers
        sent = headers.get("x-request-id")
        if sent is not None:
            request_id = check_id(sent, REQUEST_HEADER)
        else:
            request_id = request.scope.get("state", {}).get(REQUEST_ID) or os.urandom(16).hex()
        conversation = headers.get("x-conversation-id")
        if conversation is not None:
            check_id(conversation, CONVERSATION_HEADER)
        return cls(request_id, conversation, headers.get("x-settings-pin"))

    @property
    def pinning(self) -> bool:
        return self.conversation_id is not None or self.pin is not None

    async def prepare(self, chat: Chat, request: Request[Any, Any, Any], body: bytes, *, bot: str | None = None,
                      write: bool = True) -> Prepared:
        """Prepare at the conversation's pinned revision (or the pin header's)."""
        parsed, slug = chat.service.parse(body, bot=bot)
        require_read(request, scopes.bot(slug))  # before a pin is written for it
        resolved = await chat.conversations.resolve(slug, parsed.overrides, self.conversation_id, self.pin,
                                                    write=write)
        self.pinned = resolved.pinned
        if resolved.pinned:
            self.headers[PIN_HEADER] = str(resolved.snapshot.revision)
        return chat.service.prepare_parsed(parsed, resolved.snapshot)

    def forwarded(self, prepared: Prepared, body: bytes | None) -> Forwarded:
        upstream_model = prepared.provenance.model if prepared.provenance.model_source == "request" else None
        return Forwarded(request_id=self.request_id, prepared=prepared, at=self.at, started=self.started,
                         conversation_id=self.conversation_id, pinned=self.pinned, upstream_model=upstream_model,
                         body=body)


async def forward_recorded(recorder: ReplyRecorder, item: Forwarded, sending: Awaitable[T]) -> T:
    """Await the upstream; a failure is recorded (what the gateway answers) and re-raised."""
    try:
        return await sending
    except UpstreamError as exc:
        status = 503 if isinstance(exc, UpstreamNotConfigured) else 504 if isinstance(exc, UpstreamTimeout) else 502
        recorder.failed(item, status, exc.message, exc.upstream_status)
        raise
