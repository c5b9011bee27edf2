"""ChatService: the chat pipeline's entry point for the API and the CLI: body →
snapshot → prepared request.

One snapshot per request, taken once, here; everything after reads only from it.
"""

from __future__ import annotations

import time
from collections.abc import Set
from typing import Any

from app.domain.errors import FieldError, ValidationFailed
from app.pipeline.prepare import Prepared, prepare
from app.pipeline.request import decode_body, parse_request
from app.pipeline.tokens import DEFAULT_COUNTER, TokenCounter
from app.services.settings import SettingsService


class ChatService:
    """Owns: turning a chat request into the upstream request for one bot, from one
    snapshot of its settings (prepare); the gateway forwards what this prepares."""

    def __init__(self, settings: SettingsService, allowed_models: Set[str] = frozenset(),
                 counter: TokenCounter = DEFAULT_COUNTER) -> None:
        self.settings = settings
        self.allowed_models = allowed_models
        self.counter = counter

    def prepare(self, body: bytes | Any, *, bot: str | None = None, now: float | None = None) -> Prepared:
        """``bot`` is the bot the caller addressed (a URL path); without it the request's
        ``model`` names the bot. Raises ValidationFailed (nothing to forward) or NotFound."""
        request = parse_request(decode_body(body) if isinstance(body, bytes) else body)
        slug = bot or request.bot
        if slug is None:
            raise ValidationFailed([FieldError(key="model", code="invalid_request",
                                               message="model: name the bot, e.g. \"model\": \"mira\"")])
        if bot is not None and request.bot not in (None, bot):
            raise ValidationFailed([FieldError(key="model", code="invalid_request", message=(
                f"model: the request names bot '{request.bot}' but is addressed to '{bot}'"))])
        snapshot = self.settings.snapshot(slug, request.overrides)
        return prepare(request, snapshot, now=time.time() if now is None else now, counter=self.counter,
                       allowed_models=self.allowed_models)
