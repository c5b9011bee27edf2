"""Request helpers shared by the handlers: actor, reason, If-Match, ETag."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException

from app.domain.access import Forbidden, Role
from app.domain.input_checks import check_text, parse_int
from app.http.auth import principal_of


def actor_of(request: Request[Any, Any, Any]) -> str:
    """The token's name; without tokens, whatever the caller says (X-Actor), see app/http/auth.py."""
    return check_text(principal_of(request).name, "X-Actor")


def reason_of(request: Request[Any, Any, Any], body_reason: str | None = None) -> str:
    return check_text(body_reason or request.headers.get("x-change-reason") or request.query_params.get("reason")
                      or "", "reason")


def if_match(request: Request[Any, Any, Any]) -> int | None:
    """The revision or version in an If-Match header (`"12"`, `W/"12"` or `12`)."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):
        raise HTTPException(status_code=400, detail=f"If-Match must be a revision number like \"12\", got {raw!r}")
    return parse_int(text, "If-Match")


def last_event_id(request: Request[Any, Any, Any]) -> int | None:
    """The revision a reconnecting EventSource saw last, if it sent one."""
    raw = request.headers.get("last-event-id")
    return parse_int(raw, "Last-Event-ID") if raw else None


def etag(revision: int) -> str:
    return f'"{revision}"'


def query_int(text: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter (``limit``, ``since``): ASCII digits within lo…hi, else a 400."""
    return default if text is None or text == "" else parse_int(text, name, lo=lo, hi=hi)


def approval_bypass(request: Request[Any, Any, Any]) -> str | None:
    """An admin's reason to write a scope the approval policy protects without a change
    request (``X-Approval-Bypass: <reason>``); recorded in the change's reason."""
    raw = request.headers.get("x-approval-bypass")
    if raw is None:
        return None
    principal = principal_of(request)
    if principal.role < Role.ADMIN:
        raise Forbidden(f"token '{principal.name}' has role {principal.role.label}; only an admin may bypass "
                        "the approval policy: propose a change request instead")
    return check_text(raw, "X-Approval-Bypass")
