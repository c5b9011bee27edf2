"""The platform's own settings endpoints, same paths and JSON shapes, so its existing
CLI and UI can point here unchanged:

    GET    /v1/settings?scope_type=bot|global&scope_id=…
    PUT    /v1/settings            {"scope_type", "scope_id", "key", "value"}
    DELETE /v1/settings?scope_type=…&scope_id=…&key=…
    POST   /v1/settings/batch      {"items": [{"scope_type", "scope_id", "key", "value"}, …]}

Unlike the original, every write is validated against the registry and the batch is
atomic: all items in one change, or none (422 naming each bad item). Writes go
through the same service as the native API, so they are logged and versioned alike.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.params import FromQuery, JSONBody

from app.api.schemas import (
    BatchBody,
    CompatBatch,
    CompatBatchItem,
    CompatDelete,
    CompatScope,
    CompatSetting,
    CompatWrite,
)
from app.domain import scopes
from app.domain.access import Action
from app.domain.audit import PastState
from app.domain.errors import BadRequest, InvalidScope
from app.domain.events import ChangeResult
from app.domain.history import Point, point_of
from app.http.auth import require, require_each, require_read
from app.http.deps import Bots, History, Service
from app.http.request import actor_of, reason_of
from app.services.bots import BatchItem
from app.services.settings import SettingsService


async def compat_read(request: Request[Any, Any, Any], service: SettingsService, scope_type: str,
                      scope_id: str | None) -> CompatScope:
    """GET /v1/settings?scope_type=…: one scope in the platform's own shape."""
    scope = scopes.from_parts(scope_type, scope_id)
    require_read(request, scope)
    view = await service.scope_view(scope)
    return CompatScope(scope_type=scope_type, scope_id=scope_id,
                       settings=[CompatSetting(key=v.key, value=v.value) for v in view.values])


def _named_scopes(items: list[BatchItem]) -> list[scopes.Scope]:
    """The valid scopes a batch names; invalid ones are reported per item by its validation."""
    named: set[scopes.Scope] = set()
    for item in items:
        with contextlib.suppress(InvalidScope):
            named.add(scopes.from_parts(item.scope_type, item.scope_id))
    return sorted(named)


# The scope of each write is in its body or query: each handler checks it itself.
@put("/v1/settings", summary="Platform-compatible: set one key", opt={"scope_in_body": True})
async def compat_put(request: Request[Any, Any, Any], service: Service, data: JSONBody[BatchItem]) -> CompatWrite:
    scope = scopes.from_parts(data.scope_type, data.scope_id)
    require(request, Action.WRITE, scope)
    result = await service.set_value(scope, data.key, data.value, actor=actor_of(request), reason=reason_of(request))
    item = result.items[0]
    return CompatWrite(success=True, scope_type=data.scope_type, scope_id=data.scope_id, key=item.key,
                       value=item.value, warnings=result.warnings)


@delete("/v1/settings", status_code=200, summary="Platform-compatible: delete one key",
         opt={"scope_in_body": True})
async def compat_delete(request: Request[Any, Any, Any], service: Service, scope_type: FromQuery[str],
                        key: FromQuery[str],
                        scope_id: FromQuery[str | None] = None) -> CompatDelete:
    scope = scopes.from_parts(scope_type, scope_id)
    require(request, Action.WRITE, scope)
    result = await service.delete_value(scope, key, actor=actor_of(request), reason=reason_of(request))
    return CompatDelete(success=True, scope_type=scope_type, scope_id=scope_id, key=result.items[0].key,
                        deleted=result.changed, warnings=result.warnings)


@post("/v1/settings/batch", status_code=200, summary="Platform-compatible: set many keys, atomically",
      opt={"scope_in_body": True})
async def compat_batch(request: Request[Any, Any, Any], bots: Bots, data: JSONBody[BatchBody]) -> CompatBatch:
    require_each(request, Action.WRITE, _named_scopes(data.items))
    result: ChangeResult = await bots.batch_set(data.items, actor=actor_of(request), reason=reason_of(request))
    applied = [CompatBatchItem(scope_type=given.scope_type, scope_id=given.scope_id, key=item.key, value=item.value)
               for given, item in zip(data.items, result.items, strict=True)]
    return CompatBatch(success=True, applied_count=len(applied), applied=applied,
                       changed_count=sum(1 for i in result.items if i.changed), warnings=result.warnings)


@get("/v1/settings", tags=["history"],
     summary="Every scope's stored values, now or at ?revision= / ?as_of=; with ?scope_type= (and "
             "scope_id) one scope in the platform's own shape")
async def all_settings(request: Request[Any, Any, Any], service: Service, history: History,
                       revision: FromQuery[str | None] = None,
                       as_of: FromQuery[str | None] = None, scope_type: FromQuery[str | None] = None,
                       scope_id: FromQuery[str | None] = None) -> Response[PastState | CompatScope]:
    if scope_type is not None:
        if revision is not None or as_of is not None:
            raise BadRequest("the platform's shape (?scope_type=) reads the current values only; for a past "
                             "point use /v1/settings/{scope}?revision= or ?as_of=")
        return Response(await compat_read(request, service, scope_type, scope_id))
    require_read(request, None)
    point = point_of(revision, as_of) or Point(revision=await service.head())
    state = await history.state_at(point)
    return Response(state, headers={"X-Settings-Revision": str(state.revision)})


HANDLERS = [compat_put, compat_delete, compat_batch, all_settings]
