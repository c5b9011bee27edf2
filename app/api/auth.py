"""Authentication and authorization of every request, in one app-wide guard.

Without a tokens file there is no authentication (``serve`` then refuses to bind
anything but loopback) and callers name themselves with ``X-Actor``. With one,
every route but those marked ``opt={"public": True}`` needs a bearer token.

What a route needs is decided here, so a new route is covered without opting in:
- GET/HEAD: read (of the route's scope, if it has one);
- any other method: a change to the route's scope — the global router is marked
  ``opt={"scope": "global"}``, bot routes have a ``{slug}`` path parameter;
- a change on a route with no scope in its path needs admin, unless the route is
  marked ``opt={"scope_in_body": True}`` and calls :func:`require` itself with the
  scope it read from the body;
- ``opt={"action": "admin"}`` marks platform operations.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.domain import scopes
from app.domain.access import Action, Principal, Role, Token, Unauthenticated, authenticate, authorize
from app.domain.scopes import Scope

log = structlog.get_logger("botsettings.auth")

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRINCIPAL = "principal"  # key in the connection's state


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    return value.strip() if kind.lower() == "bearer" and value.strip() else None


def _route_scope(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> Scope | None:
    if handler.opt.get("scope") == "global":
        return scopes.GLOBAL
    slug = connection.path_params.get("slug")
    return scopes.bot(slug) if isinstance(slug, str) else None


def make_guard(tokens: list[Token] | None) -> Any:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get("public"):
            return
        if tokens is None:
            principal = Principal(name=connection.headers.get("x-actor") or "api", role=Role.ADMIN)
        else:
            try:
                principal = authenticate(tokens, _bearer(connection))
            except Unauthenticated as exc:
                # Never the secret: only that one was (or was not) sent.
                log.warning("auth.failed", path=connection.url.path, reason=exc.message,
                            client=connection.client.host if connection.client else None)
                raise
        connection.state[PRINCIPAL] = principal
        action = Action(handler.opt["action"]) if "action" in handler.opt else (
            Action.READ if connection.scope.get("method", "GET") in _READ_METHODS else Action.WRITE)
        scope = _route_scope(connection, handler)
        if action is Action.WRITE and scope is None and handler.opt.get("scope_in_body"):
            authorize(principal, Action.READ)  # the handler checks the scope it reads
            return
        authorize(principal, action, scope)

    return guard


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.state[PRINCIPAL]
    return principal


def require(request: Request[Any, Any, Any], action: Action, scope: Scope | None = None) -> Principal:
    """For handlers whose scope comes from the body (rollback, bot creation…)."""
    principal = principal_of(request)
    authorize(principal, action, scope)
    return principal


def require_each(request: Request[Any, Any, Any], action: Action, scopes_: list[Scope]) -> None:
    """Every one of several scopes (a change spanning scopes)."""
    principal = principal_of(request)
    for scope in scopes_:
        authorize(principal, action, scope)


def require_read(request: Request[Any, Any, Any], scope: Scope | None) -> None:
    """A read of one scope's data, or (``None``) of every scope's."""
    authorize(principal_of(request), Action.READ, scope, every_scope=True)
