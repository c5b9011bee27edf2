"""History on the page: the timeline with filters and before/after of each change,
the whole state as of a revision, rolling back to it (dry run first, then a
confirmed post) and undoing one change (revert)."""

from __future__ import annotations

import difflib
import json
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.access import Action, sees_bot
from app.domain.audit import AuditEvent, EventFilter
from app.domain.events import Source
from app.domain.history import Point, parse_revision
from app.domain.registry import WRITABLE_KEYS
from app.domain.scopes import Scope, parse_scope
from app.http.auth import require, require_each, require_read
from app.http.deps import History, Service
from app.web.render import current_principal, may, page
from app.web.views import SOURCE_TEXT

PAGE_SIZE = 25  # changes per page (a change may hold any number of events)
EVENTS_SHOWN = 50  # events listed under one change; its own page lists them all


LONG = 80  # characters: a value longer than this (or multi-line) is shown as a unified diff


def _lines(value: Any) -> list[str]:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
    return text.splitlines()


def text_diff(before: Any, after: Any) -> list[tuple[str, str]]:
    """A unified diff of two long or multi-line values as (kind, line): kind is add, del,
    same or hunk. Empty when both are short: those read better as before → after."""
    def long(v: Any) -> bool:
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        return "\n" in text or len(text) > LONG
    if not (long(before) or long(after)):
        return []
    old, new = (_lines(before) if before is not None else []), (_lines(after) if after is not None else [])
    lines = []
    for line in list(difflib.unified_diff(old, new, lineterm="", n=3))[2:]:  # no ---/+++ header
        kind = {"+": "add", "-": "del", " ": "same", "@": "hunk"}.get(line[:1])
        if kind:
            lines.append((kind, line if kind == "hunk" else line[1:]))
    return lines


def _scope_or_none(text: str | None) -> Scope | None:
    return parse_scope(text) if text else None


def _revision(text: str, name: str) -> int:
    return parse_revision(text, name)


@get("/history", name="web.history")
async def history_page(request: Request[Any, Any, Any], service: Service, history: History,
                       key: FromQuery[str | None] = None, actor: FromQuery[str | None] = None,
                       source: FromQuery[str | None] = None, cursor: FromQuery[str | None] = None,
                       done: FromQuery[str | None] = None) -> Template:
    # `scope` is reserved by Litestar; the form field is called `in`.
    where = request.query_params.get("in") or None
    principal = current_principal(request)
    if where is None and principal.bots:  # a token limited to some bots may not read every scope
        where = f"bots/{sorted(principal.bots)[0]}"
    target = _scope_or_none(where)
    require_read(request, target)
    sources = [s.value for s in Source]
    chosen_source = source if source in sources else None
    events = EventFilter(scope=target, key=key or None, actor=actor or None, source=chosen_source)
    found = await history.change_log(events, PAGE_SIZE, cursor, EVENTS_SHOWN)
    filters = {"in": where, "key": key, "actor": actor, "source": chosen_source}
    older = ("/history?" + urlencode({**{k: v for k, v in filters.items() if v}, "cursor": found.next_cursor})
             if found.next_cursor else None)
    return page(request, "history.html", entries=found.entries, filters=filters, older=older,
                bots=[b for b in service.known_bots() if sees_bot(principal, b)], keys=WRITABLE_KEYS,
                sources=sources,
                text_diff=text_diff, can_roll_back=lambda e: may(principal, Action.WRITE, _target_of(e, target)),
                rollback_scope=lambda e: str(_target_of(e, target)), done=done, revision=found.head)


@get("/changes/{change_id:str}", name="web.change")
async def change_page(request: Request[Any, Any, Any], service: Service, history: History,
                      change_id: FromPath[str]) -> Template:
    """One change with all its events (the history page lists the first ones)."""
    detail = await history.change(change_id)
    require_each(request, Action.READ, [parse_scope(s) for s in sorted({e.scope for e in detail.events})])
    return page(request, "change.html", detail=detail, text_diff=text_diff, revision=service.revision)


def _target_of(event: AuditEvent, filtered: Scope | None) -> Scope:
    return filtered or parse_scope(event.scope)


@get("/history/{revision:str}", name="web.as_of")
async def as_of_page(request: Request[Any, Any, Any], service: Service, history: History,
                     revision: FromPath[str]) -> Template:
    """The whole state at a revision: a bot's effective settings (``?in=bots/mira``), or
    the values stored in every scope."""
    at = _revision(revision, "revision")
    target = _scope_or_none(request.query_params.get("in"))
    require_read(request, target)
    past = await history.state_at(Point(revision=at), target)
    effective = None
    if target is not None and not target.is_global:
        effective = await history.snapshot_at(target.id, Point(revision=at))
    return page(request, "as_of.html", past=past, target=str(target) if target else None, effective=effective,
                source_text=SOURCE_TEXT, can_roll_back=may(current_principal(request), Action.WRITE, target),
                revision=service.revision)


@get("/rollback", name="web.rollback")
async def rollback_page(request: Request[Any, Any, Any], service: Service, history: History,
                        to: FromQuery[str]) -> Template:
    """The dry run: what rolling back to ``to`` would change. Nothing is written here."""
    at = _revision(to, "to")
    target = _scope_or_none(request.query_params.get("in"))
    require_read(request, target)
    plan = await history.rollback(Point(revision=at), scope=target, dry_run=True,
                                  actor=current_principal(request).name)
    return page(request, "rollback.html", plan=plan, to=at, target=str(target) if target else None,
                can_roll_back=may(current_principal(request), Action.WRITE, target),
                revision=service.revision)


@post("/rollback", name="web.rollback_apply", opt={"scope_in_body": True})
async def rollback_apply(request: Request[Any, Any, Any], history: History) -> Redirect:
    form = await request.form()
    at = _revision(str(form.get("to", "")), "to")
    where = str(form.get("in", "")) or None
    target = _scope_or_none(where)
    principal = require(request, Action.WRITE, target)
    result = await history.rollback(Point(revision=at), scope=target, actor=principal.name,
                                    reason=str(form.get("reason", "")).strip())
    done = str(result.change.change_id) if result.change and result.change.change_id else "nothing"
    return Redirect("/history?" + urlencode({**({"in": where} if where else {}), "done": done}), status_code=303)


@post("/changes/{change_id:str}/undo", name="web.undo", opt={"scope_in_body": True})
async def undo_change(request: Request[Any, Any, Any], history: History, change_id: FromPath[str]) -> Redirect:
    """Revert one change (the "Undo" after an edit); refused if a later change touched its keys."""
    detail = await history.change(change_id)
    touched = [parse_scope(s) for s in sorted({e.scope for e in detail.events})]
    require_each(request, Action.WRITE, touched)
    form = await request.form()
    result = await history.revert(change_id, actor=current_principal(request).name,
                                  reason=str(form.get("reason", "")).strip() or "undone from the page")
    back = str(form.get("back", ""))
    if not back.startswith("/") or back.startswith("//"):
        back = "/history"
    done = str(result.change.change_id) if result.change and result.change.change_id else "nothing"
    return Redirect(back.split("?")[0] + "?" + urlencode({"undone": done}), status_code=303)


HANDLERS = [history_page, change_page, as_of_page, rollback_page, rollback_apply, undo_change]
