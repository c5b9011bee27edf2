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

The operators' page (app/web) authenticates with the same tokens: its login form
opens a server-side session (app/services/sessions.py) whose random id is carried in
an HttpOnly cookie; the token itself never reaches the browser. A browser sends cookies with cross-site
requests too, so a change authenticated by the cookie (and any form post of the
page, even without tokens: a page on loopback is reachable from any site the
browser visits) must come from a page of this origin: its Origin (or, failing
that, Referer) header must name this host. A bearer token is never sent by a
browser on its own, so bearer requests need no such check.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import structlog
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.domain import scopes
from app.domain.access import (
    Action,
    Forbidden,
    Principal,
    Role,
    Token,
    Unauthenticated,
    authenticate,
    authorize,
)
from app.domain.scopes import Scope

log = structlog.get_logger("botsettings.auth")

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRINCIPAL = "principal"  # key in the connection's state
COOKIE = "botsettings_session"  # the page's session id (HttpOnly, SameSite=Strict); never the token


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    return value.strip() if kind.lower() == "bearer" and value.strip() else None


def _credentials(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str | None, bool]:
    """The presented secret and whether it came from the page's cookie."""
    if (bearer := _bearer(connection)) is not None:
        return bearer, False
    cookie = connection.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def check_same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Refuse a state-changing browser request that did not come from a page of this host.

    The host is compared, not the scheme: behind a TLS-terminating proxy the app may
    see http while the browser says https."""
    host = connection.headers.get("host", "")
    origin = connection.headers.get("origin")
    source = origin if origin and origin != "null" else connection.headers.get("referer")
    if not host or not source or urlsplit(source).netloc != host:
        log.warning("auth.cross_site_refused", path=connection.url.path, origin=origin,
                    client=connection.client.host if connection.client else None)
        raise Forbidden("cross-site request refused: a change made from a browser must come from this "
                        "service's own page (its Origin or Referer header names another site, or none)")


def _route_scope(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> Scope | None:
    if handler.opt.get("scope") == "global":
        return scopes.GLOBAL
    slug = connection.path_params.get("slug")
    return scopes.bot(slug) if isinstance(slug, str) else None


def make_guard(tokens: list[Token] | None) -> Any:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        unsafe = connection.scope.get("method", "GET") not in _READ_METHODS
        web = bool(handler.opt.get("web"))
        if web and unsafe:  # every form post of the page, login and logout included
            check_same_origin(connection)
        if handler.opt.get("public"):
            return
        if tokens is None:
            principal = Principal(name=connection.headers.get("x-actor") or ("web" if web else "api"),
                                  role=Role.ADMIN)
        else:
            secret, via_cookie = _credentials(connection)
            try:
                principal = (await connection.app.state.runtime.services.sessions.principal(tokens, secret)
                             if via_cookie and secret else authenticate(tokens, secret))
            except Unauthenticated as exc:
                # Never the secret: only that one was (or was not) sent.
                log.warning("auth.failed", path=connection.url.path, reason=exc.message,
                            client=connection.client.host if connection.client else None)
                raise
            if via_cookie and unsafe and not web:
                check_same_origin(connection)
        connection.state[PRINCIPAL] = principal
        action = Action(handler.opt["action"]) if "action" in handler.opt else (
            Action.READ if not unsafe else Action.WRITE)
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
