"""`POST /v1/chat/completions` answered below the framework.

A platform sends every chat turn through here, so the gateway's own cost is on the
path of every reply. Through the framework, routing, the guard, dependency
injection, the boundary's checks written for every route (the body parsed twice,
once by the standard library for its checks), the metrics middleware and the
response classes cost three times what forwarding itself costs. This path does the
same steps for the plain request: match the path, check the host (app/http/boundary.py),
authenticate (app/domain/access.py, as the guard does), read the body within the
size limit, check and decode it once (``plain_json``: refuses nothing the full
check accepts), prepare it from one snapshot (ChatService.prepare, as the handler),
check the token may read that bot, forward (``Chat.forward``, the handler's own)
and relay the answer with the same headers, counted in the same metrics.

Anything else is passed on unchanged to the full application, the body replayed:
a query string, a cookie, an ``Origin``/``Referer``/``Sec-Fetch-Site`` header (the
page, browsers, CORS), a body that is not JSON, too large or not plainly valid, a
refused token, a bot the token may not read, a malformed ``X-Request-Id`` (a 400
there), a conversation or a pin (``X-Conversation-Id``, ``X-Settings-Pin``: resolved
against the stored pins, app/api/lineage.py), and every request the pipeline
refuses (422, 404). Those are answered and logged exactly as before, and preparing
is pure, so trying it here first changes nothing. Upstream failures are answered
here, in the same OpenAI shape as the full path's (app/http/problems.py), since the
request must not be sent twice. The request log (app/http/request_log.py) is
outside this path: its request id and log line are the same whichever path answers,
and ``Chat.forward`` records the reply under that id on both (an in-memory append).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec
import structlog

from app.api.chat import Chat, settings_headers
from app.api.fast_reads import caller, host_allowed
from app.api.lineage import Lineage
from app.domain import scopes
from app.domain.access import Action, Principal, Token, authorize
from app.domain.input_checks import plain_json
from app.domain.replies import SAFE_ID
from app.http.auth import PRINCIPAL
from app.http.openai_errors import error_body
from app.http.problems import unexpected_problem, upstream_problem
from app.http.request_log import REQUEST_ID
from app.http.route_metrics import RouteMetrics
from app.pipeline.errors import UpstreamError
from app.pipeline.gateway import UpstreamReply, UpstreamStream
from app.pipeline.prepare import Prepared

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/v1/chat/completions"
# The page and browsers (cookies, CORS); a conversation or a pin, which are resolved
# against the database (app/api/lineage.py) and so belong to the framework's path.
_DECLINE = frozenset({b"cookie", b"origin", b"referer", b"sec-fetch-site", b"x-conversation-id", b"x-settings-pin"})
_NOSNIFF = (b"x-content-type-options", b"nosniff")
log = structlog.get_logger("botsettings.gateway")


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def _content_type(media_type: str) -> bytes:
    """As the framework's responses name it: a text type without a charset gets UTF-8's."""
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    return media_type.encode("latin-1")


class FastChat:
    def __init__(self, app: ASGIApp, *, tokens: list[Token] | None, hosts: frozenset[str] | None,
                 max_body_bytes: int, metrics: RouteMetrics) -> None:
        self.app, self.tokens, self.hosts, self.max_body_bytes = app, tokens, hosts, max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST"
                or scope.get("query_string")):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()  # the duration counts the body's reading and preparing, as the framework's
        at = time.time()
        principal = self._admit(scope)
        chat: Chat | None = getattr(scope["app"].state, "chat", None)
        if principal is None or chat is None:
            await self.app(scope, receive, send)
            return
        body, whole = await self._read(receive)
        document = plain_json(body) if whole else None
        prepared = None if document is None else self._prepare(chat, document, principal)
        if prepared is None:
            await self.app(scope, _replay(body, whole, receive), send)
            return
        scope["state"][PRINCIPAL] = principal  # the request log's actor
        self.metrics.started()
        status = 500
        try:
            # The request log (outside) made the id the response carries: the caller's, checked above, or a new one.
            lineage = Lineage(scope["state"][REQUEST_ID], None, None, at=at, started=started)
            status = await self._answer(scope, receive, send, chat, prepared, lineage, body)
        finally:
            self.metrics.finished(status, time.perf_counter() - started)

    def _admit(self, scope: Scope) -> Principal | None:
        """The caller, when this path may serve the request at all."""
        host = authorization = actor = None
        json = sized = False
        for name, value in scope["headers"]:
            if name in _DECLINE:
                return None
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-actor":
                actor = value.decode("latin-1")
            elif name == b"content-type":
                json = _is_json(value)
            elif name == b"content-length":
                sized = value.isdigit() and 0 < int(value) <= self.max_body_bytes
            elif name == b"transfer-encoding":
                sized = True  # read below within the limit
            elif name == b"x-request-id" and not SAFE_ID.fullmatch(value.decode("latin-1")):
                return None  # the framework's path answers its 400
        if not (json and sized) or not host_allowed(self.hosts, host):
            return None
        return caller(self.tokens, authorization, actor)

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        """The body, and whether that is all of it within the limit (else what was read)."""
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body", False):
            return body, message["type"] == "http.request" and len(body) <= self.max_body_bytes
        chunks, size = [body], len(body)
        while message.get("more_body", False):
            message = await receive()
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if message["type"] != "http.request" or size > self.max_body_bytes:
                return b"".join(chunks), False
        return b"".join(chunks), True

    @staticmethod
    def _prepare(chat: Chat, document: Any, principal: Principal) -> Prepared | None:
        try:
            prepared = chat.service.prepare(document)
            authorize(principal, Action.READ, scopes.bot(prepared.bot), every_scope=True)
        except Exception:  # refused (or a fault): the full path answers, in OpenAI's shape, and logs it
            return None
        return prepared

    async def _answer(self, scope: Scope, receive: Receive, send: Send, chat: Chat, prepared: Prepared,
                      lineage: Lineage, body: bytes) -> int:
        try:
            answer = await chat.forward(prepared, lineage, body)
        except UpstreamError as exc:
            return await _error(send, upstream_problem(PATH, exc))
        except Exception as exc:  # as the full path's last handler: a 500 (or 503) in OpenAI's shape, logged
            return await _error(send, unexpected_problem(PATH, exc))
        named = settings_headers(prepared) | lineage.headers
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in named.items()]
        headers.append(_NOSNIFF)
        if isinstance(answer, UpstreamReply):
            await send({"type": "http.response.start", "status": answer.status, "headers": [
                (b"content-type", _content_type(answer.content_type)),
                (b"content-length", str(len(answer.body)).encode()), *headers]})
            await send({"type": "http.response.body", "body": answer.body})
            return answer.status
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", _content_type(answer.content_type)), (b"cache-control", b"no-cache"), *headers]})
        await _relay(answer, receive, send)
        return 200


async def _error(send: Send, problem: dict[str, Any]) -> int:
    body = msgspec.json.encode(error_body(problem))
    status: int = problem["status"]
    # As the framework's exception handlers answer (its after-request hook adds no header to those).
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 503 and problem.get("title") == "Service unavailable":
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def _relay(stream: UpstreamStream, receive: Receive, send: Send) -> None:
    """The upstream's events as they come, unbuffered; when the caller goes away the
    upstream's answer is abandoned at once (its connection released)."""
    async def pump() -> None:
        async for chunk in stream.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    relay = asyncio.ensure_future(pump())
    gone = asyncio.ensure_future(receive())  # resolves when the caller disconnects
    try:
        await asyncio.wait((relay, gone), return_when=asyncio.FIRST_COMPLETED)
        if not relay.done():
            log.info("gateway.stream_abandoned", reason="the caller disconnected")
            relay.cancel()
            await asyncio.wait((relay,))
        if not relay.cancelled():
            relay.result()  # its failure, if any, is this request's
    finally:
        gone.cancel()
        relay.cancel()
        aclose = getattr(stream.chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def _replay(body: bytes, whole: bool, receive: Receive) -> Receive:
    """``receive`` for the full application: the body already read, then the rest."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not whole}
        return await receive()

    return replay
