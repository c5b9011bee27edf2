"""The OpenAI-compatible chat gateway: /v1/chat/completions, /v1/models, /v1/bots/{slug}/prepare.

Thin: parse (in the pipeline), take one snapshot, prepare, forward. Errors are
mapped in app/api/errors.py.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Stream

from app.api.lineage import Lineage, forward_recorded
from app.config import Config
from app.domain import scopes
from app.domain.access import sees_bot
from app.domain.errors import NotFound
from app.http.auth import principal_of, require_read
from app.pipeline.gateway import Gateway
from app.pipeline.prepare import Prepared, Provenance
from app.runtime import Runtime
from app.services.chat import ChatModel, ChatService


class Chat:
    """What the chat handlers need, kept on app.state for the app's lifetime."""

    def __init__(self, config: Config, runtime: Runtime) -> None:
        # The app's own configuration decides which models a request may pick (a test or an
        # embedding may serve one runtime under several).
        self.service = ChatService(runtime.services.settings, config.allowed_models)
        self.gateway = Gateway(config.upstream_url, config.upstream_api_key, config.upstream_timeout_seconds)
        self.replies = runtime.services.replies
        self.conversations = runtime.services.conversations

    async def close(self) -> None:
        await self.gateway.close()


class ModelCard(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    created: int
    owned_by: str = "botsettings"
    name: str
    description: str
    upstream_model: str

    @classmethod
    def of(cls, model: ChatModel) -> ModelCard:
        return cls(id=model.slug, created=model.created, name=model.name, description=model.description,
                   upstream_model=model.upstream_model)


class ModelList(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[ModelCard]


class PrepareResult(msgspec.Struct, kw_only=True):
    bot: str
    revision: int
    stale: bool
    request: dict[str, Any]
    provenance: Provenance


def settings_headers(prepared: Prepared) -> dict[str, str]:
    headers = {"X-Bot": prepared.bot, "X-Settings-Revision": str(prepared.revision)}
    if prepared.provenance.overrides:
        headers["X-Settings-Overrides"] = ",".join(sorted(prepared.provenance.overrides))
    if prepared.stale:
        headers["X-Settings-Stale"] = "true"
    return headers


# Chatting and preparing read a bot's settings and change nothing: readers may, for
# the bots their token allows (checked once the body has named the bot).
@post("/v1/chat/completions", summary="OpenAI-compatible chat: `model` is a bot; its settings shape the request",
      tags=["chat"], status_code=200, opt={"action": "read"})
async def chat_completions(request: Request[Any, Any, State], state: State) -> Response[bytes] | Stream:
    chat: Chat = state.chat
    lineage = Lineage.of(request)
    body = await request.body()
    prepared = await lineage.prepare(chat, request, body) if lineage.pinning else chat.service.prepare(body)
    require_read(request, scopes.bot(prepared.bot))
    headers = settings_headers(prepared) | lineage.headers
    recorder = chat.replies.recorder
    item = lineage.forwarded(prepared, body if recorder.keeps_messages else None)
    if prepared.stream:
        upstream = await forward_recorded(recorder, item, chat.gateway.stream(prepared.request))
        return Stream(recorder.tap(item, upstream.chunks), media_type=upstream.content_type,
                      headers={**headers, "Cache-Control": "no-cache"})
    reply = await forward_recorded(recorder, item, chat.gateway.complete(prepared.request))
    recorder.completed(item, reply.status, reply.body)
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type, headers=headers)


@get("/v1/models", summary="The bots that can chat (a default_model set), as OpenAI models", tags=["chat"])
async def list_models(request: Request[Any, Any, State], state: State) -> ModelList:
    chat: Chat = state.chat
    principal = principal_of(request)
    return ModelList(data=[ModelCard.of(m) for m in await chat.service.models() if sees_bot(principal, m.slug)])


@get("/v1/models/{model:str}", summary="One bot as an OpenAI model (the name in any case)", tags=["chat"])
async def retrieve_model(request: Request[Any, Any, State], state: State, model: FromPath[str]) -> ModelCard:
    chat: Chat = state.chat
    found = await chat.service.model(model)
    if not sees_bot(principal_of(request), found.slug):  # as if unknown: a limited token learns nothing of it
        raise NotFound(f"unknown model '{model}': no bot of that name (GET /v1/models lists the bots that can chat)")
    return ModelCard.of(found)


@post("/v1/bots/{slug:str}/prepare", summary="The exact upstream request for a chat request, with provenance; "
      "nothing is forwarded", tags=["chat"], status_code=200, opt={"action": "read"})
async def prepare(request: Request[Any, Any, State], state: State, slug: FromPath[str]) -> Response[PrepareResult]:
    chat: Chat = state.chat
    lineage = Lineage.of(request)
    body = await request.body()
    prepared = (await lineage.prepare(chat, request, body, bot=slug, write=False) if lineage.pinning
                else chat.service.prepare(body, bot=slug))
    return Response(PrepareResult(bot=prepared.bot, revision=prepared.revision, stale=prepared.stale,
                                  request=prepared.request, provenance=prepared.provenance),
                    headers=settings_headers(prepared) | lineage.headers)


HANDLERS = [chat_completions, list_models, retrieve_model, prepare]
