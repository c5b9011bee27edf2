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

import msgspec
from litestar import Request, delete, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from app.domain import scopes
from app.domain.access import Action
from app.domain.errors import InvalidScope
from app.domain.events import ChangeResult
from app.http.auth import require, require_each, require_read
from app.http.request import actor_of, reason_of
from app.service import SettingsService
from app.service_bots import BatchItem, batch_set

Service = NamedDependency[SettingsService]


class CompatSetting(msgspec.Struct, kw_only=True):
    key: str
    value: Any


class CompatScope(msgspec.Struct, kw_only=True):
    scope_type: str
    scope_id: str | None
    settings: list[CompatSetting]


class CompatWrite(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    scope_type: str
    scope_id: str | None
    key: str
    value: Any = None
    warnings: list[str] = []  # e.g. a legacy key name that was mapped


class CompatDelete(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    scope_type: str
    scope_id: str | None
    key: str
    deleted: bool
    warnings: list[str] = []


class CompatBatchItem(msgspec.Struct, kw_only=True):
    scope_type: str
    scope_id: str | None
    key: str
    value: Any


class CompatBatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    applied_count: int
    applied: list[CompatBatchItem]
    changed_count: int = 0  # items whose value actually changed (the others were already so)
    warnings: list[str] = []


class BatchBody(msgspec.Struct, kw_only=True):
    items: list[BatchItem]


async def compat_read(request: Request[Any, Any, Any], service: SettingsService, scope_type: str,
                      scope_id: str | None) -> CompatScope:
    """GET /v1/settings?scope_type=…: served by the one /v1/settings handler (app/api/history.py)."""
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
async def compat_batch(request: Request[Any, Any, Any], service: Service, data: JSONBody[BatchBody]) -> CompatBatch:
    require_each(request, Action.WRITE, _named_scopes(data.items))
    result: ChangeResult = await batch_set(service, data.items, actor=actor_of(request), reason=reason_of(request))
    applied = [CompatBatchItem(scope_type=given.scope_type, scope_id=given.scope_id, key=item.key, value=item.value)
               for given, item in zip(data.items, result.items, strict=True)]
    return CompatBatch(success=True, applied_count=len(applied), applied=applied,
                       changed_count=sum(1 for i in result.items if i.changed), warnings=result.warnings)


HANDLERS = [compat_put, compat_delete, compat_batch]
