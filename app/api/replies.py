"""/v1/replies and /v1/conversations: the lineage of the chat gateway's replies, their
replay at another point of the settings' history, and conversations' pins."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.lineage import Lineage, forward_recorded
from app.domain import scopes
from app.domain.errors import BadRequest, FieldError
from app.domain.history import Point, parse_time
from app.domain.replies import MAX_PAGE, Reply, ReplyFilter, ReplyPage
from app.http.auth import principal_of, require_read
from app.http.deps import Conversations, Replies
from app.http.request import query_int
from app.services.conversations import Pin
from app.services.replies import Replay, check_id


class ReplayBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    revision: Annotated[int, msgspec.Meta(ge=0)] | None = None
    as_of: str | None = None
    forward: bool = False


class ConversationPins(msgspec.Struct, kw_only=True):
    conversation_id: str
    pins: list[Pin]


@get("/v1/replies", summary="Replies the chat gateway forwarded, newest first (filter by bot, time, status)",
     tags=["replies"])
async def list_replies(request: Request[Any, Any, State], replies: Replies, bot: FromQuery[str | None] = None,
                       since: FromQuery[str | None] = None, until: FromQuery[str | None] = None,
                       status: FromQuery[str | None] = None, limit: FromQuery[str | None] = None,
                       cursor: FromQuery[str | None] = None) -> ReplyPage:
    if bot:
        scopes.check_slug(bot)
        require_read(request, scopes.bot(bot))
    principal = principal_of(request)
    f = ReplyFilter(bot=bot or None, since=parse_time(since, "since") if since else None,
                    until=parse_time(until, "until") if until else None, status=status or None,
                    bots=frozenset(principal.bots) if principal.bots is not None else None)
    return await replies.page(f, query_int(limit, "limit", 50, 1, MAX_PAGE), cursor)


@get("/v1/replies/{request_id:str}", summary="One reply's lineage: revision, values and sources, outcome",
     tags=["replies"])
async def get_reply(request: Request[Any, Any, State], replies: Replies, request_id: FromPath[str]) -> Reply:
    reply = await replies.get(request_id)
    require_read(request, scopes.bot(reply.bot))
    return reply


@post("/v1/replies/{request_id:str}/replay", status_code=200, tags=["replies"], opt={"action": "read"},
      summary="The upstream request the same call would make at a revision, a time or now, and what differs")
async def replay_reply(request: Request[Any, Any, State], state: State, replies: Replies, request_id: FromPath[str],
                       data: JSONBody[ReplayBody | None] = None) -> Replay:
    body = data or ReplayBody()
    if body.revision is not None and body.as_of is not None:
        raise BadRequest("give either revision or as_of, not both",
                         [FieldError(key="as_of", code="ambiguous_point", message="both revision and as_of given")])
    point = (Point(revision=body.revision) if body.revision is not None
             else Point(time=parse_time(body.as_of, "as_of")) if body.as_of is not None else None)
    require_read(request, scopes.bot((await replies.get(request_id)).bot))
    replay, prepared = await replies.replay(request_id, point, forward=body.forward)
    if not body.forward or prepared is None:
        return replay
    # Forwarded once more, as a plain (non-streamed) request, and recorded as a replay of the original.
    prepared = msgspec.structs.replace(prepared, stream=False,
                                       request={k: v for k, v in prepared.request.items() if k != "stream"})
    lineage = Lineage.of(request)
    item = lineage.forwarded(prepared, None)
    item.replay_of = request_id
    recorder = replies.recorder
    answer = await forward_recorded(recorder, item, state.chat.gateway.complete(prepared.request))
    recorder.completed(item, answer.status, answer.body)
    try:
        reply_doc: Any = msgspec.json.decode(answer.body)
    except msgspec.DecodeError:
        reply_doc = answer.body.decode(errors="replace")
    return msgspec.structs.replace(replay, forwarded=True, reply_status=answer.status, reply=reply_doc)


@get("/v1/conversations/{conversation_id:str}", summary="A conversation's pinned settings revision, per bot",
     tags=["replies"])
async def get_conversation(request: Request[Any, Any, State], conversations: Conversations,
                           conversation_id: FromPath[str]) -> ConversationPins:
    check_id(conversation_id, "conversation_id")
    principal = principal_of(request)
    pins = await conversations.pins(
        conversation_id, frozenset(principal.bots) if principal.bots is not None else None)
    return ConversationPins(conversation_id=conversation_id, pins=pins)


HANDLERS = [list_replies, get_reply, replay_reply, get_conversation]
