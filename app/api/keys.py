"""The key registry: /v1/keys (botsettings' view of every key) and /v1/config/schema
(the platform's shape, with its ?bot_type= filter)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.schemas import ChangeResponse, change_response
from app.domain.audit import HistoryPage
from app.domain.registry_views import KeyDoc
from app.http.deps import Keys
from app.http.request import actor_of, reason_of


class DefineBody(msgspec.Struct, kw_only=True):
    """A key and its definition: type, default, applies_to, scopes, label, help, minimum,
    maximum, choices, nullable, legacy, renames, legacy_keys, ui_widget, storage, area, unit."""

    key: str
    definition: dict[str, Any]
    reason: str | None = None


@get("/v1/keys", summary="Every key of the registry: type, default, where it applies, legacy names; "
     "?bot_type=chat|agent keeps the keys that apply to that type")
async def list_keys(registry: Keys, bot_type: FromQuery[str | None] = None) -> list[KeyDoc]:
    return await registry.keys(bot_type)


@get("/v1/keys/{key:str}", summary="One key's definition (a legacy name finds the key it was renamed to)")
async def get_key(registry: Keys, key: FromPath[str]) -> KeyDoc:
    return await registry.key(key)


@get("/v1/config/schema", summary="The registry in the platform's shape: {bot_type, settings: {key: {type, "
     "applies_to, storage, label, help, default, legacy_keys, ui_widget}}}; ?bot_type=chat|agent filters")
async def config_schema(registry: Keys, bot_type: FromQuery[str | None] = None) -> dict[str, Any]:
    return registry.config_schema(bot_type)


@post("/v1/keys", status_code=200, opt={"scope": "global"},
      summary="Define a key or change its definition (given fields replace the current ones): one change in the log")
async def define_key(request: Request[Any, Any, Any], registry: Keys,
                     data: JSONBody[DefineBody]) -> Response[ChangeResponse]:
    if not data.definition:
        raise HTTPException(status_code=400, detail="the definition is empty: give at least one field")
    return change_response(await registry.define(data.key, data.definition, actor=actor_of(request),
                                                 reason=reason_of(request, data.reason)))


@delete("/v1/keys/{key:str}", status_code=200, opt={"scope": "global"},
        summary="Retire a key: it leaves the registry, its stored values stay in the log")
async def retire_key(request: Request[Any, Any, Any], registry: Keys, key: FromPath[str]) -> Response[ChangeResponse]:
    return change_response(await registry.retire(key, actor=actor_of(request), reason=reason_of(request)))


@get("/v1/keys/{key:str}/history", summary="Every change of a key's definition: who, when, why, before and after")
async def key_history(registry: Keys, key: FromPath[str]) -> HistoryPage:
    return await registry.history(key)


HANDLERS = [list_keys, get_key, config_schema, define_key, retire_key, key_history]
