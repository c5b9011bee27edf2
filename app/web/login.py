"""Signing in to the page with an API token, and out again.

Signing in opens a server-side session (app/services/sessions.py); its random id, not
the token, is kept in an HttpOnly, SameSite=Strict cookie (Secure over https) that the
app-wide guard (app/http/auth.py) accepts like a bearer header. The token's name is
the actor of every change made through the page. Signing out revokes the session."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from app.domain.access import Unauthenticated, authenticate
from app.http.auth import COOKIE
from app.services.sessions import SESSION_HOURS
from app.web.render import TOKENS, page

log = structlog.get_logger("botsettings.web")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@get("/login", name="web.login", opt={"public": True})
async def login_page(request: Request[Any, Any, Any]) -> Template:
    return page(request, "login.html", next=safe_next(request.query_params.get("next")), error=None)


@post("/login", name="web.login_post", opt={"public": True})
async def login(request: Request[Any, Any, Any]) -> Redirect | Template:
    form = await request.form()
    target = safe_next(str(form.get("next", "")))
    tokens = request.app.state.get(TOKENS)
    if tokens is None:
        return Redirect(target, status_code=303)
    secret = str(form.get("token", "")).strip()
    try:
        principal = authenticate(tokens, secret)
    except Unauthenticated as exc:
        log.warning("auth.failed", path=request.url.path, reason=exc.message,
                    client=request.client.host if request.client else None)
        message = "Enter your API token." if not secret else "That token is not valid."
        return page(request, "login.html", status=401, next=target, error=message)
    log.info("web.signed_in", actor=principal.name, role=principal.role.label)
    session_id = await request.app.state.runtime.services.sessions.open(principal)
    cookie = Cookie(key=COOKIE, value=session_id, path="/", httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", max_age=SESSION_HOURS * 3600)
    return Redirect(target, status_code=303, cookies=[cookie])


@post("/logout", name="web.logout", opt={"public": True})
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    if session_id := request.cookies.get(COOKIE):
        await request.app.state.runtime.services.sessions.close(session_id)
    response = Redirect("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


HANDLERS = [login_page, login, logout]
