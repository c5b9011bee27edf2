"""The hottest read, `GET /v1/bots/{slug}/effective`, answered below the framework.

A bot platform asks for a bot's whole effective settings on every turn. The answer
depends only on the bot's snapshot, which the read model hands out unchanged (the
same object) until a change touches the bot; so its bytes and ETag are computed once
per snapshot, and a request costs: match the path, check the host, authenticate and
authorize (app/domain/access.py, the same rules the app-wide guard applies), compare
``If-None-Match`` (304) and send. The framework's routing, guard, dependency
injection and encoding per request were 85% of this endpoint's cost.

Only the plain case is served here: no query string, no cookie (the page's session
goes through the guard and its session store), no Origin (CORS answers are the
framework's). Anything else — and every refusal: a bad host, a missing or wrong
token, a bot the token may not see, an unknown bot — is passed on unchanged to the
full application, which answers and logs it exactly as before. So this path can
only serve what the full path would have served, with the same body. Its answers
are counted in the same Prometheus series as the full path's (app/http/route_metrics.py).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from app.api.bots import _whole_bot
from app.domain import scopes
from app.domain.access import Action, Principal, Role, Token, Unauthenticated, authenticate, authorize
from app.domain.errors import BotSettingsError
from app.domain.resolution import Snapshot
from app.http.boundary import host_name, is_loopback
from app.http.request_log import log_routine, request_id_of
from app.http.route_metrics import RouteMetrics

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_EFFECTIVE = re.compile(r"/v1/bots/([a-z0-9][a-z0-9_-]{0,63})/effective")
_DECLINE = frozenset({b"cookie", b"origin"})
_ANONYMOUS = Principal(name="api", role=Role.ADMIN)  # without tokens and X-Actor: one, not one per request


class Cached(msgspec.Struct, frozen=True):
    snapshot: Snapshot  # held so its identity cannot be reused while cached
    etag: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _encode(slug: str, snap: Snapshot) -> Cached:
    body = msgspec.json.encode(_whole_bot(slug, snap))
    etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"etag", etag), (b"x-settings-revision", str(snap.revision).encode()),
               (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-cache")]
    if snap.stale:
        headers.append((b"x-settings-stale", b"true"))
    return Cached(snap, etag, headers, body)


class FastReads:
    def __init__(self, app: ASGIApp, *, tokens: list[Token] | None, hosts: frozenset[str] | None,
                 metrics: RouteMetrics) -> None:
        self.app, self.tokens, self.hosts, self.metrics = app, tokens, hosts, metrics
        self._cache: dict[str, Cached] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string")
                or (match := _EFFECTIVE.fullmatch(scope["path"])) is None):
            await self.app(scope, receive, send)
            return
        served = await self._serve(scope, match.group(1), send)
        if not served:
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, slug: str, send: Send) -> bool:
        host = authorization = actor = if_none_match = None
        for name, value in scope["headers"]:
            if name in _DECLINE:
                return False
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-actor":
                actor = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value
        if not host_allowed(self.hosts, host):
            return False
        principal = caller(self.tokens, authorization, actor)
        if principal is None:
            return False
        try:
            authorize(principal, Action.READ, scopes.bot(slug))
        except BotSettingsError:  # forbidden, or a reserved name such as 'global': the full path says so
            return False
        runtime = getattr(scope["app"].state, "runtime", None)
        if runtime is None or not runtime.services.settings.is_known(slug):
            return False
        started = time.perf_counter()
        self.metrics.started()
        snap = runtime.services.settings.snapshot(slug)
        cached = self._cache.get(slug)
        if cached is None or cached.snapshot is not snap:
            cached = self._cache[slug] = _encode(slug, snap)
        request_id = (b"x-request-id", request_id_of(scope).encode("latin-1"))
        status = 200
        if if_none_match is not None and cached.etag in (t.strip() for t in if_none_match.split(b",")):
            status = 304
            headers = [h for h in cached.headers if h[0] not in (b"content-length", b"content-type")]
            await send({"type": "http.response.start", "status": 304, "headers": [*headers, request_id]})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": [*cached.headers, request_id]})
            await send({"type": "http.response.body", "body": cached.body})
        self.metrics.finished(status, time.perf_counter() - started)
        log_routine(scope, status, principal.name)
        return True


def host_allowed(hosts: frozenset[str] | None, host: str | None) -> bool:
    """The boundary's Host rule (app/http/boundary.py); a refusal is left to it."""
    name = host_name(host or "")
    return hosts is None or name in hosts or bool(name and is_loopback(name))


def caller(tokens: list[Token] | None, authorization: str | None, actor: str | None) -> Principal | None:
    """Who sends a request, by the guard's rules (app/http/auth.py) for a bearer token
    or, without tokens, ``X-Actor``; ``None`` when it would be refused (the full path
    answers and logs the refusal)."""
    if tokens is None:
        return Principal(name=actor, role=Role.ADMIN) if actor else _ANONYMOUS
    kind, _, secret = (authorization or "").partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        return None
    try:
        return authenticate(tokens, secret.strip())
    except Unauthenticated:
        return None
