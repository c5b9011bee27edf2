"""Request helpers shared by the handlers: actor, reason, If-Match, ETag."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException

from app.http.auth import principal_of


def actor_of(request: Request[Any, Any, Any]) -> str:
    """The token's name; without tokens, whatever the caller says (X-Actor), see app/http/auth.py."""
    return principal_of(request).name


def reason_of(request: Request[Any, Any, Any], body_reason: str | None = None) -> str:
    return body_reason or request.headers.get("x-change-reason") or request.query_params.get("reason") or ""


def if_match(request: Request[Any, Any, Any]) -> int | None:
    """The revision or version in an If-Match header (`"12"`, `W/"12"` or `12`)."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise HTTPException(status_code=400, detail=f"If-Match must be a revision number like \"12\", got {raw!r}")
    return int(text)


def etag(revision: int) -> str:
    return f'"{revision}"'
