"""The platform's own settings endpoints, same paths and JSON shapes, so its existing
CLI, editor and UI can point here unchanged (llm-bawt's `routes/settings.py`):

    GET    /v1/settings?scope_type=bot|global&scope_id=…   (scope_type defaults to bot)
    GET    /v1/settings/all?scope_type=&scope_id=&key=&key_prefix=&limit=&offset=
    PUT    /v1/settings            {"scope_type", "scope_id", "key", "value"}
    DELETE /v1/settings?scope_type=…&scope_id=…&key=…
    POST   /v1/settings/batch      {"items": [{"scope_type", "scope_id", "key", "value"}, …]}

As there, scope_type and scope_id are trimmed and lower-cased, the global scope's id
is "*", and a bot scope without an id is the default bot (the global `default_bot`,
else "nova", the platform's own fallback). Profile keys live in the platform's
bot_profiles, not among its runtime settings, so these listings leave them out.
Unlike the original, every write is validated against the registry and the batch is
atomic: all items in one change, or none (422 naming each bad item). The seed-era
client's names are mapped (docs/keys.md): an old name is written under its current
one, `max_context_tokens: 0` unsets `history_tokens`, and a key the platform dropped
(`max_context_messages`) is ignored; each with a warning in the answer. Writes go
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
    CompatList,
    CompatRecord,
    CompatScope,
    CompatSetting,
    CompatWrite,
)
from app.domain import registry, scopes
from app.domain.access import Action
from app.domain.audit import PastState
from app.domain.errors import BadRequest, FieldError, InvalidScope, ValidationFailed
from app.domain.events import ChangeResult, ItemResult
from app.domain.history import Point, point_of
from app.domain.platform_profile import profile_keys
from app.domain.scopes import GLOBAL_ID, Scope, ScopeType
from app.domain.values import is_dropped
from app.http.auth import require, require_each, require_read
from app.http.deps import Bots, History, Service
from app.http.request import actor_of, reason_of
from app.services.bots import BatchItem
from app.services.settings import SettingsService

# The platform's own default bot when nothing names one (its DEFAULT_BOT's default).
PLATFORM_DEFAULT_BOT = "nova"


def platform_scope(service: SettingsService, scope_type: str | None, scope_id: str | None) -> tuple[Scope, str]:
    """The platform's normalisation: (scope, the scope_id it answers)."""
    st = (scope_type or "").strip().lower()
    if st == ScopeType.GLOBAL:
        return scopes.GLOBAL, GLOBAL_ID
    if st != ScopeType.BOT:
        raise InvalidScope(f"scope_type must be 'global' or 'bot', not {scope_type!r}")
    sid = (scope_id or service.default_bot or PLATFORM_DEFAULT_BOT).strip().lower()
    if not sid:
        raise InvalidScope("scope_id is required for bot scope")
    return scopes.bot(sid), sid


def _requested(result: ChangeResult) -> list[ItemResult]:
    """The items of a change that the request named: without the deletes of a key's
    legacy names that go with every write of it."""
    return [i for i in result.items if i.key not in registry.LEGACY_NAMES]


def _normalised(service: SettingsService, item: BatchItem) -> BatchItem:
    """An item with the platform's scope rules applied; a bad scope is left for the
    batch's validation to report by index."""
    try:
        scope, _ = platform_scope(service, item.scope_type, item.scope_id)
    except InvalidScope:
        return item
    return BatchItem(scope_type=scope.type.value, scope_id=None if scope.is_global else scope.id,
                     key=item.key, value=item.value)


async def compat_read(request: Request[Any, Any, Any], service: SettingsService, scope_type: str,
                      scope_id: str | None) -> CompatScope:
    """One scope in the platform's shape: its runtime settings, without profile keys."""
    scope, sid = platform_scope(service, scope_type, scope_id)
    require_read(request, scope)
    view = await service.scope_view(scope)
    hidden = profile_keys()
    return CompatScope(scope_type=scope.type.value, scope_id=sid,
                       settings=[CompatSetting(key=v.key, value=v.value)
                                 for v in sorted(view.values, key=lambda v: v.key) if v.key not in hidden])


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
    scope, sid = platform_scope(service, data.scope_type, data.scope_id)
    require(request, Action.WRITE, scope)
    result = await service.set_value(scope, data.key, data.value, actor=actor_of(request), reason=reason_of(request))
    requested = _requested(result)
    if not requested:  # a seed-era key the platform dropped: ignored, the warning says so
        return CompatWrite(success=True, scope_type=scope.type.value, scope_id=sid, key=data.key, value=None,
                           warnings=result.warnings)
    item = requested[0]
    return CompatWrite(success=True, scope_type=scope.type.value, scope_id=sid, key=item.key, value=item.value,
                       warnings=result.warnings)


@delete("/v1/settings", status_code=200, summary="Platform-compatible: delete one key",
        opt={"scope_in_body": True})
async def compat_delete(request: Request[Any, Any, Any], service: Service, scope_type: FromQuery[str],
                        key: FromQuery[str],
                        scope_id: FromQuery[str | None] = None) -> CompatDelete:
    scope, sid = platform_scope(service, scope_type, scope_id)
    require(request, Action.WRITE, scope)
    result = await service.delete_value(scope, key, actor=actor_of(request), reason=reason_of(request))
    item = _requested(result)[0]
    return CompatDelete(success=True, scope_type=scope.type.value, scope_id=sid, key=item.key,
                        deleted=item.changed, warnings=result.warnings)


@post("/v1/settings/batch", status_code=200, summary="Platform-compatible: set many keys, atomically",
      opt={"scope_in_body": True})
async def compat_batch(request: Request[Any, Any, Any], service: Service, bots: Bots,
                       data: JSONBody[BatchBody]) -> CompatBatch:
    if not data.items:  # the platform answers an empty batch with nothing applied
        return CompatBatch(success=True, applied_count=0, applied=[])
    items = [_normalised(service, i) for i in data.items]
    require_each(request, Action.WRITE, _named_scopes(items))
    result = await bots.batch_set(items, actor=actor_of(request), reason=reason_of(request))
    kept = [i for i in items if not is_dropped(i.key)]  # dropped seed-era keys: named in the warnings
    applied = [CompatBatchItem(scope_type=given.scope_type, scope_id=given.scope_id or GLOBAL_ID, key=item.key,
                               value=item.value)
               for given, item in zip(kept, _requested(result), strict=True)]
    return CompatBatch(success=True, applied_count=len(applied), applied=applied,
                       changed_count=sum(1 for i in _requested(result) if i.changed), warnings=result.warnings)


@get("/v1/settings", tags=["history"],
     summary="One scope in the platform's shape (?scope_type=bot|global, scope_id; default: the default "
             "bot); with ?revision= or ?as_of= every scope's stored values at that point")
async def all_settings(request: Request[Any, Any, Any], service: Service, history: History,
                       revision: FromQuery[str | None] = None,
                       as_of: FromQuery[str | None] = None, scope_type: FromQuery[str | None] = None,
                       scope_id: FromQuery[str | None] = None) -> Response[PastState | CompatScope]:
    if revision is None and as_of is None:
        return Response(await compat_read(request, service, scope_type or ScopeType.BOT.value, scope_id))
    if scope_type is not None:
        raise BadRequest("the platform's shape (?scope_type=) reads the current values only; for a past "
                         "point use /v1/settings/{scope}?revision= or ?as_of=")
    require_read(request, None)
    point = point_of(revision, as_of) or Point(revision=await service.head())
    state = await history.state_at(point)
    return Response(state, headers={"X-Settings-Revision": str(state.revision)})


@get("/v1/settings/all", summary="Platform-compatible: stored runtime settings of every scope, filtered and paged")
async def compat_all(request: Request[Any, Any, Any], service: Service, scope_type: FromQuery[str | None] = None,
                     scope_id: FromQuery[str | None] = None, key: FromQuery[str | None] = None,
                     key_prefix: FromQuery[str | None] = None, limit: FromQuery[int] = 200,
                     offset: FromQuery[int] = 0) -> CompatList:
    require_read(request, None)
    st = scope_type.strip().lower() if scope_type else None
    if st and st not in (ScopeType.GLOBAL, ScopeType.BOT):
        raise InvalidScope(f"scope_type must be 'global' or 'bot', not {scope_type!r}")
    bad = [FieldError(key=name, code="out_of_range", message=f"'{name}' must be {rule}, not {value}")
           for name, value, ok, rule in (("limit", limit, 1 <= limit <= 1000, "between 1 and 1000"),
                                         ("offset", offset, offset >= 0, "0 or more")) if not ok]
    if bad:
        raise ValidationFailed(bad)
    sid = scope_id.strip().lower() if scope_id else None
    k, prefix = (key.strip() if key else None), (key_prefix.strip() if key_prefix else None)
    total, rows = await service.stored_rows(scope_type=st, scope_id=sid, key=k, key_prefix=prefix,
                                            exclude_keys=profile_keys(), limit=limit, offset=offset)
    return CompatList(settings=[CompatRecord(scope_type=t, scope_id=i, key=v.key, value=v.value,
                                             updated_at=v.updated_at) for t, i, v in rows],
                      total_count=total, filters={"scope_type": st, "scope_id": sid, "key": k, "key_prefix": prefix,
                                                  "limit": limit, "offset": offset})


HANDLERS = [compat_put, compat_delete, compat_batch, all_settings, compat_all]
