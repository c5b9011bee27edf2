"""Rendering pages: the common context (who is signed in, what they may change), the
page's security headers, and how values are shown and read back from form fields."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.response import Template

from app.domain.access import Action, Forbidden, Principal, authorize
from app.domain.registry import Kind, SettingDef
from app.domain.scopes import Scope
from app.domain.values import parse_text
from app.http.auth import principal_of

TOKENS = "tokens"  # key in app.state: the API tokens, or None when authentication is off

# No inline scripts or styles anywhere: every page loads /static/app.css and /static/app.js.
# same-origin (not no-referrer): a form post must carry this page's Origin header, which
# the CSRF check in app/http/auth.py compares with the host.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'; object-src 'none'",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def auth_enabled(request: Request[Any, Any, Any]) -> bool:
    return request.app.state.get(TOKENS) is not None


def may(principal: Principal, action: Action, scope: Scope | None = None) -> bool:
    try:
        authorize(principal, action, scope)
    except Forbidden:
        return False
    return True


def page(request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any) -> Template:
    principal = request.state.get("principal")
    return Template(template_name=template, status_code=status, headers=PAGE_HEADERS, context={
        "principal": principal, "auth_enabled": auth_enabled(request), "path": request.url.path,
        "revision": context.pop("revision", None), **context})


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_of(request)


def show(value: Any) -> str:
    """A value as a person reads it: strings bare (empty shown as \"\"), the rest as JSON."""
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, ensure_ascii=False)


def field_text(value: Any) -> str:
    """A value as it is edited in a form field (read back by :func:`read_field`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return json.dumps(value)


def read_field(defn: SettingDef, text: str) -> Any:
    """Form text to a value of the key's type; validation is the registry's, on write.

    Strings are taken as typed (a form field is text, not JSON), except `null` for a
    key that may be null. Everything else is read like a command-line value."""
    if defn.kind in (Kind.STR, Kind.ENUM):
        if defn.nullable and text.strip() == "null":
            return None
        return text.replace("\r\n", "\n")
    return parse_text(defn, text)
