"""ChatService: the chat pipeline's entry point for the API and the CLI: body →
snapshot → prepared request.

One snapshot per request, taken once, here; everything after reads only from it.
"""

from __future__ import annotations

import time
from collections.abc import Set
from typing import Any

import msgspec

from app.domain.errors import FieldError, NotFound, ValidationFailed
from app.domain.resolution import Snapshot
from app.pipeline.prepare import Prepared, prepare
from app.pipeline.request import ChatRequest, decode_body, parse_request
from app.pipeline.tokens import DEFAULT_COUNTER, TokenCounter
from app.services.settings import SettingsService


class ChatModel(msgspec.Struct, frozen=True, kw_only=True):
    """A bot that can chat, as an OpenAI model."""

    slug: str
    name: str
    description: str
    upstream_model: str
    created: int  # when the bot first appeared in the log (bots.yaml-only bots: when the log began)


class ChatService:
    """Owns: turning a chat request into the upstream request for one bot, from one
    snapshot of its settings (prepare); the gateway forwards what this prepares."""

    def __init__(self, settings: SettingsService, allowed_models: Set[str] = frozenset(),
                 counter: TokenCounter = DEFAULT_COUNTER) -> None:
        self.settings = settings
        self.allowed_models = allowed_models
        self.counter = counter
        self._first_seen: tuple[int, float | None, dict[str, float]] | None = None  # (revision, began, per bot)

    async def models(self) -> list[ChatModel]:
        """The bots that can chat: those whose default_model resolves to a model name."""
        began, seen = await self._bots_first_seen()
        return [ChatModel(slug=b.slug, name=b.name, description=b.description, upstream_model=b.default_model,
                          created=int(seen.get(b.slug, began or 0)))
                for b in self.settings.bots() if b.default_model]

    async def model(self, name: str) -> ChatModel:
        """One bot as a model, by a name as a client writes it (any case, ``bot/`` prefix allowed)."""
        slug = name.lower().removeprefix("bot/")
        found = next((m for m in await self.models() if m.slug == slug), None)
        if found is None:
            known = self.settings.is_known(slug)
            raise NotFound(f"bot '{slug}' has no default_model, so it cannot chat; set one (botsettings set "
                           f"default_model NAME --bot {slug})" if known else f"unknown model '{name}': no bot "
                           "of that name (GET /v1/models lists the bots that can chat)")
        return found

    async def _bots_first_seen(self) -> tuple[float | None, dict[str, float]]:
        """Read once per revision: a bot's first event never changes, new bots bring a new revision."""
        revision = self.settings.revision
        if self._first_seen is None or self._first_seen[0] != revision:
            began, seen = await self.settings.bots_first_seen()
            self._first_seen = (revision, began, seen)
        return self._first_seen[1], self._first_seen[2]

    def prepare(self, body: bytes | Any, *, bot: str | None = None, now: float | None = None) -> Prepared:
        """``bot`` is the bot the caller addressed (a URL path); without it the request's
        ``model`` names the bot. Raises ValidationFailed (nothing to forward) or NotFound."""
        request, slug = self.parse(body, bot=bot)
        return self.prepare_parsed(request, self.settings.snapshot(slug, request.overrides), now=now)

    def parse(self, body: bytes | Any, *, bot: str | None = None) -> tuple[ChatRequest, str]:
        """The checked request and the slug of the bot it is for."""
        request = parse_request(decode_body(body) if isinstance(body, bytes) else body)
        slug = bot or request.bot
        if slug is None:
            raise ValidationFailed([FieldError(key="model", code="invalid_request",
                                               message="model: name the bot, e.g. \"model\": \"mira\"")])
        if bot is not None and request.bot not in (None, bot):
            raise ValidationFailed([FieldError(key="model", code="invalid_request", message=(
                f"model: the request names bot '{request.bot}' but is addressed to '{bot}'"))])
        return request, slug

    def prepare_parsed(self, request: ChatRequest, snapshot: Snapshot, *, now: float | None = None) -> Prepared:
        """The upstream request from a snapshot the caller chose (the live one, or a
        conversation's pinned revision: app/services/conversations.py)."""
        return prepare(request, snapshot, now=time.time() if now is None else now, counter=self.counter,
                       allowed_models=self.allowed_models)
