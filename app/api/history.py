"""/v1/history, /v1/changes, /v1/diff, /v1/rollback, /v1/settings?as_of=: the log as operators read it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.api.schemas import ChangeResponse, change_response
from app.domain.access import Action
from app.domain.audit import (
    ChangeDetail,
    ChangesPage,
    DiffResult,
    EventFilter,
    HistoryPage,
    RestoreResult,
    parse_change_id,
)
from app.domain.errors import BadRequest, FieldError
from app.domain.events import Source
from app.domain.history import DiffItem, Point, parse_point, parse_time
from app.domain.scopes import Scope, parse_scope
from app.http.auth import require, require_each, require_read
from app.http.deps import History, Service
from app.http.request import actor_of, query_int, reason_of
from app.services.history import MAX_PAGE

# `scope` is a name Litestar reserves (the ASGI scope), and `from` is Python's.
ScopeQuery = Annotated[str | None, QueryParameter(name="scope", description="global or bots/<slug>")]
FromPoint = Annotated[str, QueryParameter(name="from", description="a revision, a timestamp or a span (24h)")]
_SOURCES = ", ".join(s.value for s in Source)


class RollbackTarget(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    revision: Annotated[int, msgspec.Meta(ge=0)] | None = None
    time: str | None = None


class RollbackBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    to: RollbackTarget
    scope: str | None = None  # "global" or "bots/<slug>"; default every scope
    keys: list[str] | None = None
    dry_run: bool = False
    reason: str | None = None


class RevertBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    force: bool = False
    dry_run: bool = False
    reason: str | None = None


class RestoreResponse(msgspec.Struct, kw_only=True):
    target: str
    target_revision: int | None
    dry_run: bool
    diff: list[DiffItem]  # key, from, to: what differs now from the target
    skipped: list[FieldError]  # differences the registry no longer lets us restore
    change: ChangeResponse | None  # the appended change; null for a dry run or when nothing differs
    model_problems: list[FieldError] = []  # a dry run: what the model limits would refuse, naming each bot


def _restored(result: RestoreResult) -> RestoreResponse:
    change = change_response(result.change).content if result.change is not None else None
    return RestoreResponse(target=result.target, target_revision=result.target_revision, dry_run=result.dry_run,
                           diff=result.diff, skipped=result.skipped, change=change,
                           model_problems=result.model_problems)


def _filter(scope: str | None, key: str | None, actor: str | None, source: str | None, since: str | None,
            until: str | None, change: str | None = None) -> EventFilter:
    if source is not None and source not in Source.__members__.values():
        raise BadRequest(f"source: {source!r} is not one of {_SOURCES}",
                         [FieldError(key="source", code="invalid_source", message=f"one of {_SOURCES}")])
    return EventFilter(scope=parse_scope(scope) if scope else None, key=key or None, actor=actor or None,
                       source=source, change_id=parse_change_id(change) if change else None,
                       since=parse_time(since, "since") if since else None,
                       until=parse_time(until, "until") if until else None)


def _scopes_of(detail: ChangeDetail) -> list[Scope]:
    return [parse_scope(s) for s in sorted({e.scope for e in detail.events})]


@get("/v1/history", summary="Events, newest first, filtered; cursor pagination", tags=["history"])
async def list_history(request: Request[Any, Any, Any], history: History, scope_: ScopeQuery = None,
                       key: FromQuery[str | None] = None,
                       actor: FromQuery[str | None] = None, source: FromQuery[str | None] = None,
                       change: FromQuery[str | None] = None, since: FromQuery[str | None] = None,
                       until: FromQuery[str | None] = None, limit: FromQuery[str | None] = None,
                       cursor: FromQuery[str | None] = None) -> HistoryPage:
    events = _filter(scope_, key, actor, source, since, until, change)
    require_read(request, events.scope)
    return await history.history(events, query_int(limit, "limit", 50, 1, MAX_PAGE), cursor)


@get("/v1/changes", summary="Changes, newest first, filtered; cursor pagination", tags=["history"])
async def list_changes(request: Request[Any, Any, Any], history: History, scope_: ScopeQuery = None,
                       key: FromQuery[str | None] = None,
                       actor: FromQuery[str | None] = None, source: FromQuery[str | None] = None,
                       since: FromQuery[str | None] = None, until: FromQuery[str | None] = None,
                       limit: FromQuery[str | None] = None, cursor: FromQuery[str | None] = None) -> ChangesPage:
    events = _filter(scope_, key, actor, source, since, until)
    require_read(request, events.scope)
    return await history.changes(events, query_int(limit, "limit", 50, 1, MAX_PAGE), cursor)


@get("/v1/changes/{change_id:str}", summary="One change with its events", tags=["history"])
async def get_change(request: Request[Any, Any, Any], history: History, change_id: FromPath[str]) -> ChangeDetail:
    detail = await history.change(change_id)
    require_each(request, Action.READ, _scopes_of(detail))
    return detail


@post("/v1/changes/{change_id:str}/revert", status_code=200, tags=["history"], opt={"scope_in_body": True},
      summary="Restore the values a change replaced (409 if a later change touched them, unless force)")
async def revert_change(request: Request[Any, Any, Any], history: History, change_id: FromPath[str],
                        data: JSONBody[RevertBody | None] = None) -> RestoreResponse:
    body = data or RevertBody()
    # A revert changes the scopes its change touched: each must be the caller's to change.
    require_each(request, Action.READ if body.dry_run else Action.WRITE, _scopes_of(await history.change(change_id)))
    return _restored(await history.revert(change_id, force=body.force, dry_run=body.dry_run, actor=actor_of(request),
                                reason=reason_of(request, body.reason)))


@post("/v1/rollback", status_code=200, tags=["history"], opt={"scope_in_body": True},
      summary="Restore the state at a revision or time, as one new change (or a dry run)")
async def rollback(request: Request[Any, Any, Any], history: History, data: JSONBody[RollbackBody]) -> RestoreResponse:
    if (data.to.revision is None) == (data.to.time is None):
        raise BadRequest('"to" needs exactly one of {"revision": N} or {"time": "…"}',
                         [FieldError(key="to", code="invalid_point", message="give revision or time")])
    to = Point(revision=data.to.revision) if data.to.revision is not None else Point(
        time=parse_time(data.to.time or "", "to.time"))
    target = parse_scope(data.scope) if data.scope else None
    # Writers roll back bot scopes; every scope at once (no "scope") needs admin. A dry
    # run changes nothing, so reading the scope is enough.
    if data.dry_run:
        require_read(request, target)
    else:
        require(request, Action.WRITE, target)
    return _restored(await history.rollback(to, scope=target,
                                            keys=data.keys, dry_run=data.dry_run, actor=actor_of(request),
                                            reason=reason_of(request, data.reason)))


def _point(text: str, name: str) -> Point:
    return parse_point(text, datetime.now(UTC), name)


@get("/v1/diff", summary="What differs between two points (revision or time)", tags=["history"])
async def diff(request: Request[Any, Any, Any], service: Service, history: History, from_: FromPoint,
               to: FromQuery[str | None] = None, scope_: ScopeQuery = None) -> DiffResult:
    target = parse_scope(scope_) if scope_ else None
    require_read(request, target)
    end = _point(to, "to") if to else Point(revision=await service.head())
    return await history.diff(_point(from_, "from"), end, target)


HANDLERS = [list_history, list_changes, get_change, revert_change, rollback, diff]
