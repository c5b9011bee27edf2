"""The bots overview, a bot's settings page and the global page, with their edit forms.

Forms post to the service layer and redirect (post/redirect/get); a refused value
re-renders the page with the registry's message next to the field."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import scopes
from app.domain.access import Action
from app.domain.errors import ValidationFailed
from app.domain.events import ChangeResult, Source
from app.domain.registry import REGISTRY, SettingDef
from app.domain.resolution import BOT_KEYS, GLOBAL_KEYS
from app.domain.scopes import Scope
from app.http.deps import Service
from app.services.settings import SettingsService
from app.web.render import current_principal, may, page, read_field, show
from app.web.views import SOURCE_TEXT, bot_groups, global_groups, hidden_count


@get("/", name="web.bots")
async def bots_page(request: Request[Any, Any, Any], service: Service) -> Template:
    principal = current_principal(request)
    bots = [b for b in service.bots() if principal.bots is None or b.slug in principal.bots]
    return page(request, "bots.html", bots=bots, revision=service.revision)


def _notice(service: SettingsService, scope: Scope, saved: str | None, reset: str | None,
            change: str | None, undone: str | None = None) -> dict[str, Any] | None:
    if undone:
        return {"text": "Nothing needed undoing: the values already match." if undone == "nothing"
                else "Undone: the values before that change are restored (as a new change, "
                     "so the undo is in the history too).", "change": None}
    key = saved or reset
    if key is None or key not in REGISTRY:
        return None
    snap = service.snapshot(scope.id) if not scope.is_global else service.global_snapshot()
    if key not in snap.values:
        return None
    resolved = snap.values[key]
    text = (f"{key} is now {show(resolved.value)}" if saved else
            f"{key} was reset: it now inherits {show(resolved.value)} from {SOURCE_TEXT[resolved.source]}")
    return {"text": text, "change": change}


def _scope_page(request: Request[Any, Any, Any], service: SettingsService, scope: Scope, *,
                errors: dict[str, tuple[str, str]] | None = None, status: int = 200,
                notice: dict[str, Any] | None = None) -> Template:
    principal = current_principal(request)
    can_edit = may(principal, Action.WRITE, scope)
    if scope.is_global:
        return page(request, "global.html", status=status, groups=global_groups(service, errors),
                    can_edit=can_edit, notice=notice, errors=errors or {}, scope=str(scope),
                    revision=service.revision, source_text=SOURCE_TEXT)
    profile = service.snapshot(scope.id)
    return page(request, "bot.html", status=status, slug=scope.id, profile=profile,
                bot_type=profile["bot_type"] or "chat", hidden=hidden_count(profile["bot_type"]),
                groups=bot_groups(service, scope.id, errors), can_edit=can_edit, notice=notice,
                errors=errors or {}, scope=str(scope), revision=service.revision,
                source_text=SOURCE_TEXT, in_yaml=service.in_yaml(scope.id))


@get("/bots/{slug:str}", name="web.bot")
async def bot_page(request: Request[Any, Any, Any], service: Service, slug: FromPath[str],
                   saved: FromQuery[str | None] = None, reset: FromQuery[str | None] = None,
                   change: FromQuery[str | None] = None, undone: FromQuery[str | None] = None) -> Template:
    scope = scopes.bot(slug)
    service.snapshot(slug)  # an unknown bot is a 404 before anything else
    return _scope_page(request, service, scope, notice=_notice(service, scope, saved, reset, change, undone))


@get("/global", name="web.global", opt={"scope": "global"})
async def global_page(request: Request[Any, Any, Any], service: Service, saved: FromQuery[str | None] = None,
                      reset: FromQuery[str | None] = None, change: FromQuery[str | None] = None,
                      undone: FromQuery[str | None] = None) -> Template:
    return _scope_page(request, service, scopes.GLOBAL,
                       notice=_notice(service, scopes.GLOBAL, saved, reset, change, undone))


def _definition(scope: Scope, key: str) -> SettingDef:
    defn = next((d for d in (GLOBAL_KEYS if scope.is_global else BOT_KEYS) if d.key == key), None)
    if defn is None:
        raise NotFoundException(f"'{key}' is not a setting of {scope}")
    return defn


def _page_url(scope: Scope, **query: str | None) -> str:
    base = "/global" if scope.is_global else f"/bots/{quote(scope.id)}"
    params = {k: v for k, v in query.items() if v}
    return base + ("?" + urlencode(params) if params else "")


def _done(scope: Scope, key: str, result: ChangeResult, what: str) -> Redirect:
    change = str(result.change_id) if result.change_id else None
    return Redirect(_page_url(scope, **{what: key, "change": change}) + f"#key-{key}", status_code=303)


async def _set(request: Request[Any, Any, Any], service: SettingsService, scope: Scope,
               key: str) -> Redirect | Template:
    defn = _definition(scope, key)
    form = await request.form()
    text = str(form.get("value", ""))
    try:
        result = await service.set_value(scope, key, read_field(defn, text), actor=current_principal(request).name,
                                         reason=str(form.get("reason", "")).strip(), source=Source.WEB)
    except ValidationFailed as exc:
        message = "; ".join(e.message for e in exc.errors) or exc.message
        return _scope_page(request, service, scope, errors={key: (message, text)}, status=422)
    return _done(scope, key, result, "saved")


async def _reset(request: Request[Any, Any, Any], service: SettingsService, scope: Scope, key: str) -> Redirect:
    _definition(scope, key)
    form = await request.form()
    result = await service.delete_value(scope, key, actor=current_principal(request).name,
                                        reason=str(form.get("reason", "")).strip(), source=Source.WEB)
    return _done(scope, key, result, "reset")


@post("/bots/{slug:str}/settings/{key:str}", name="web.bot_set")
async def set_bot_value(request: Request[Any, Any, Any], service: Service, slug: FromPath[str],
                        key: FromPath[str]) -> Redirect | Template:
    service.snapshot(slug)
    return await _set(request, service, scopes.bot(slug), key)


@post("/bots/{slug:str}/settings/{key:str}/reset", name="web.bot_reset")
async def reset_bot_value(request: Request[Any, Any, Any], service: Service, slug: FromPath[str],
                          key: FromPath[str]) -> Redirect:
    service.snapshot(slug)
    return await _reset(request, service, scopes.bot(slug), key)


@post("/global/settings/{key:str}", name="web.global_set", opt={"scope": "global"})
async def set_global_value(request: Request[Any, Any, Any], service: Service,
                           key: FromPath[str]) -> Redirect | Template:
    return await _set(request, service, scopes.GLOBAL, key)


@post("/global/settings/{key:str}/reset", name="web.global_reset", opt={"scope": "global"})
async def reset_global_value(request: Request[Any, Any, Any], service: Service, key: FromPath[str]) -> Redirect:
    return await _reset(request, service, scopes.GLOBAL, key)


HANDLERS = [bots_page, bot_page, global_page, set_bot_value, reset_bot_value, set_global_value, reset_global_value]
