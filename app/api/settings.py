"""/v1/settings/{global | bots/<slug>}: read, merge-patch, put and delete keys."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, patch, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.schemas import ChangeResponse, PutBody, ScopeSettings, StoredSetting, change_response
from app.domain import scopes
from app.domain.audit import PastState
from app.domain.history import point_of
from app.domain.proposals import parse_duration
from app.domain.records import KeyView
from app.domain.scopes import Scope
from app.http.deps import Guards, History, Service
from app.http.request import actor_of, approval_bypass, etag, if_match, reason_of

ScopeDep = NamedDependency[Scope]


@get("/", summary="Stored values of a scope; at a past point with ?revision=N or ?as_of=TIME")
async def read_scope(service: Service, history: History, target: ScopeDep, revision: FromQuery[str | None] = None,
                     as_of: FromQuery[str | None] = None) -> Response[ScopeSettings | PastState]:
    if (point := point_of(revision, as_of)) is not None:
        past = await history.state_at(point, target)
        return Response(past, headers={"X-Settings-Revision": str(past.revision)})
    view = await service.scope_view(target)
    body = ScopeSettings(scope=view.scope, revision=view.revision, head=view.head, settings={
        v.key: StoredSetting(value=v.value, key_version=v.key_version, revision=v.revision,
                             updated_at=v.updated_at, updated_by=v.updated_by) for v in view.values})
    return Response(body, headers={"ETag": etag(view.revision)})


@patch("/", summary="JSON merge-patch of a scope: null deletes a key; all keys in one change "
                    "(?guard=15m: revert it if the bots' figures worsen)")
async def patch_scope(request: Request[Any, Any, Any], service: Service, guards: Guards, target: ScopeDep,
                      data: JSONBody[dict[str, Any]], guard: FromQuery[str | None] = None) -> Response[ChangeResponse]:
    if not data:
        raise HTTPException(status_code=400, detail="the patch is empty: send an object like {\"temperature\": 0.7}")
    if guard is not None:
        return change_response(await guards.patch(
            target, data, guard_seconds=parse_duration(guard), actor=actor_of(request), reason=reason_of(request),
            expect_revision=if_match(request), bypass=approval_bypass(request)))
    result = await service.patch(target, data, actor=actor_of(request), reason=reason_of(request),
                                 expect_revision=if_match(request), bypass=approval_bypass(request))
    return change_response(result)


@get("/{key:str}", summary="One stored key of a scope")
async def read_key(service: Service, target: ScopeDep, key: FromPath[str]) -> Response[KeyView]:
    view = await service.key_view(target, key)
    return Response(view, headers={"ETag": etag(view.key_version)})


@put("/{key:str}", summary="Set one key: body {\"value\": …} (?guard=15m: revert it if the bots' figures worsen)")
async def put_key(request: Request[Any, Any, Any], service: Service, guards: Guards, target: ScopeDep,
                  data: JSONBody[PutBody], key: FromPath[str], guard: FromQuery[str | None] = None
                  ) -> Response[ChangeResponse]:
    if guard is not None:
        return change_response(await guards.set_value(
            target, key, data.value, guard_seconds=parse_duration(guard), actor=actor_of(request),
            reason=reason_of(request, data.reason), expect_version=if_match(request),
            bypass=approval_bypass(request)))
    result = await service.set_value(target, key, data.value, actor=actor_of(request),
                                     reason=reason_of(request, data.reason), expect_version=if_match(request),
                                     bypass=approval_bypass(request))
    return change_response(result)


@delete("/{key:str}", status_code=200, summary="Delete one key: the scope inherits it again")
async def delete_key(request: Request[Any, Any, Any], service: Service, target: ScopeDep,
                     key: FromPath[str]) -> Response[ChangeResponse]:
    result = await service.delete_value(target, key, actor=actor_of(request), reason=reason_of(request),
                                        expect_version=if_match(request), bypass=approval_bypass(request))
    return change_response(result)


# Each scope provider names ``service`` although it does not use it: Litestar resolves
# the dependencies of one level concurrently, in a task group (two tasks and two more
# turns of the event loop per request), and one level after another without one. So
# ``target`` is made to come after ``service``: every write goes through here.
def _global_scope(service: Service) -> Scope:
    return scopes.GLOBAL


def _bot_scope(slug: FromPath[str], service: Service) -> Scope:
    return scopes.bot(slug)


_ROUTES = [read_scope, patch_scope, read_key, put_key, delete_key]
# The same handlers serve both scope forms; each router supplies its scope.
HANDLERS = [
    Router("/v1/settings/global", route_handlers=_ROUTES, tags=["settings"], opt={"scope": "global"},
           dependencies={"target": Provide(_global_scope, sync_to_thread=False)}),
    Router("/v1/settings/bots/{slug:str}", route_handlers=_ROUTES, tags=["settings"],
           dependencies={"target": Provide(_bot_scope, sync_to_thread=False)}),
]
