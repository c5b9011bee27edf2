"""Each HTTP request logged once, with an id that every line it causes carries.

A pure ASGI middleware around the whole application (404s and CORS preflights
included): it takes the caller's ``X-Request-Id`` when it is sane — a proxy or a
client may already have one — or makes one, echoes it in the response's
``X-Request-Id``, and binds it in structlog's context variables for the duration of
the request, so a ``change.applied`` or ``auth.failed`` line names the request that
caused it. When the request ends, one ``http.request`` line says what it was:
method, path (never the query string), status, duration, request id and actor.
Nothing from the headers is logged beyond the id, so no token and no cookie ever
reaches the log.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from app.http.auth import PRINCIPAL  # where the guard leaves the caller in the request's state
from app.logging import enabled

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "x-request-id"
REQUEST_ID = "request_id"  # key of the id in the connection's state
# What a caller may choose: short, and only characters that are harmless in a log line
# and a header (no spaces, quotes or control characters to forge or break a line).
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Successful health probes and scrapes arrive every few seconds from machines, and the
# platform reads a bot's effective settings on every chat turn: they are logged at
# debug level so that they do not drown the requests people make (and, at the
# platform's rate, the log line would cost more than the read itself).
_ROUTINE = frozenset({"/healthz", "/readyz", "/metrics"})


def _routine(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path in _ROUTINE or (scope.get("method") == "GET" and path.startswith("/v1/bots/")
                                and path.endswith("/effective"))

log = structlog.get_logger("botsettings.http")


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` if sane, otherwise a new random one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _SANE.fullmatch(text):
                return text
            break
    return os.urandom(16).hex()


def _actor(scope: Scope) -> str | None:
    principal = (scope.get("state") or {}).get(PRINCIPAL)
    return getattr(principal, "name", None)


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        # Shared with the app, so the guard's principal is seen here and the chat gateway
        # records the reply under the id the response carries.
        scope.setdefault("state", {})[REQUEST_ID] = request_id
        status: int | None = None
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        # Each request runs in a task of its own, with a copy of the context: binding here
        # reaches every line the request causes and nothing after it; reset anyway.
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, status, started)
            structlog.contextvars.reset_contextvars(**tokens)

    @staticmethod
    def _log(scope: Scope, status: int | None, started: float) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        path = scope.get("path", "")
        # status None: the app raised before answering and the server will answer 500.
        code = status if status is not None else 500
        level = "error" if code >= 500 else ("debug" if code < 400 and _routine(scope) else "info")
        if not enabled(level):
            return  # cheaply: nothing is built for a line that would be dropped
        getattr(log, level)("http.request", method=scope.get("method"), path=path, status=code,
                            duration_ms=duration_ms, actor=_actor(scope),
                            client=(scope.get("client") or (None,))[0])


def log_routine(scope: Scope, status: int, actor: str) -> None:
    """The ``http.request`` line of a routine request answered outside this middleware
    (app/api/fast_reads.py): at debug, so nothing is built when debug is off."""
    if enabled("debug"):
        log.debug("http.request", method=scope.get("method"), path=scope.get("path", ""), status=status,
                  duration_ms=None, actor=actor, client=(scope.get("client") or (None,))[0])
