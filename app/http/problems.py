"""Every error becomes an RFC 9457 problem+json response here, and only here (re-shaped
as OpenAI errors on the OpenAI-compatible routes: app/http/openai_errors.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from app.domain.access import Forbidden, Unauthenticated
from app.domain.errors import (
    BotSettingsError,
    Conflict,
    Gone,
    InvalidScope,
    NotFound,
    TooLarge,
    Unavailable,
    ValidationFailed,
)
from app.http.openai_errors import in_openai_shape
from app.pipeline.errors import UpstreamError, UpstreamNotConfigured, UpstreamTimeout

log = structlog.get_logger("botsettings.api")
PROBLEM = "application/problem+json"

_STATUS: dict[type[BotSettingsError], int] = {
    ValidationFailed: 422,
    InvalidScope: 400,
    Conflict: 409,
    Gone: 410,
    NotFound: 404,
    TooLarge: 413,
    Unauthenticated: 401,
    Forbidden: 403,
}


def problem(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_of(exc: BotSettingsError) -> int:
    """The HTTP status of a domain error (the operators' page renders its own body)."""
    return next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)


def on_domain_error(_: Request[Any, Any, Any], exc: BotSettingsError) -> Response[dict[str, Any]]:
    status = status_of(exc)
    errors = [{"key": e.key, "message": e.message, "code": e.code, **({"scope": e.scope} if e.scope else {})}
              for e in exc.errors]
    headers = {"WWW-Authenticate": 'Bearer realm="botsettings"'} if status == 401 else None
    return problem(status, exc.title, exc.message, errors, headers=headers, **exc.extra)


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    errors = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [{"key": str(e.get("key", "body")), "message": str(e.get("message", "")),
                   "code": "invalid_request"} if isinstance(e, dict) else {"key": "body", "message": str(e)}
                  for e in exc.extra]
    title = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed", 413: "Payload too large", 415: "Unsupported media type",
             421: "Misdirected request"}.get(exc.status_code, "Error")
    return problem(exc.status_code, title, exc.detail, errors, headers=exc.headers)


def on_upstream_error(request: Request[Any, Any, Any], exc: UpstreamError) -> Response[dict[str, Any]]:
    """The chat gateway's upstream failed: the caller's request was fine."""
    if isinstance(exc, UpstreamNotConfigured):
        return problem(503, "No upstream configured", exc.message)
    status, title = (504, "Upstream timeout") if isinstance(exc, UpstreamTimeout) else (502, "Upstream error")
    log.warning("gateway.upstream_failed", path=request.url.path, status=status, upstream_status=exc.upstream_status)
    extra: dict[str, Any] = {"upstream_status": exc.upstream_status} if exc.upstream_status is not None else {}
    return problem(status, title, exc.message, **extra)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, Unavailable):
        log.warning("database.unavailable", path=request.url.path, error=type(exc).__name__)
        return problem(503, "Service unavailable", "the database is unavailable; nothing was written, retry later",
                       headers={"Retry-After": "1"})
    log.exception("request.failed", path=request.url.path)
    return problem(500, "Internal server error", "an unexpected error occurred; it has been logged")


def _dialect(handler: Callable[[Request[Any, Any, Any], Any], Response[dict[str, Any]]]) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        return in_openai_shape(request, handler(request, exc))
    return handle


HANDLERS = {BotSettingsError: _dialect(on_domain_error), HTTPException: _dialect(on_http_error),
            UpstreamError: _dialect(on_upstream_error), Exception: _dialect(on_unexpected)}
