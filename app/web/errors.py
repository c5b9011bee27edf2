"""Errors on the page: an error page a person can read (the API answers problem+json),
and a sign-in redirect where the API would answer 401."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from app.domain.access import Unauthenticated
from app.domain.errors import BotSettingsError, Unavailable
from app.http.problems import on_unexpected, status_of
from app.web.render import page

log = structlog.get_logger("botsettings.web")


def on_domain_error(request: Request[Any, Any, Any], exc: BotSettingsError) -> Response[Any]:
    if isinstance(exc, Unauthenticated):
        back = request.url.path if request.method == "GET" else "/"
        if request.url.query and request.method == "GET":
            back += "?" + request.url.query
        return Redirect("/login?" + urlencode({"next": back}), status_code=303)
    return _error_page(request, status_of(exc), exc.title, exc.message, [e.message for e in exc.errors])


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return _error_page(request, exc.status_code, title, exc.detail, [])


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, Unavailable):
        log.warning("database.unavailable", path=request.url.path, error=type(exc).__name__)
        return _error_page(request, 503, "Database unavailable",
                           "The database cannot be reached right now; nothing was written. Try again shortly.", [])
    on_unexpected(request, exc)  # logs it
    return _error_page(request, 500, "Internal error", "An unexpected error occurred; it has been logged.", [])


def _error_page(request: Request[Any, Any, Any], status: int, title: str, detail: str,
                problems: list[str]) -> Template:
    return page(request, "error.html", status=status, title=title, detail=detail,
                problems=[p for p in problems if p != detail])


HANDLERS = {BotSettingsError: on_domain_error, HTTPException: on_http_error, Exception: on_unexpected_error}
