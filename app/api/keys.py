"""The key registry: /v1/keys (botsettings' view of every key) and /v1/config/schema
(the platform's shape, with its ?bot_type= filter)."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.params import FromPath, FromQuery

from app.domain.registry_views import KeyDoc
from app.http.deps import Keys


@get("/v1/keys", summary="Every key of the registry: type, default, where it applies, legacy names; "
     "?bot_type=chat|agent keeps the keys that apply to that type")
async def list_keys(registry: Keys, bot_type: FromQuery[str | None] = None) -> list[KeyDoc]:
    return registry.keys(bot_type)


@get("/v1/keys/{key:str}", summary="One key's definition (a legacy name finds the key it was renamed to)")
async def get_key(registry: Keys, key: FromPath[str]) -> KeyDoc:
    return registry.key(key)


@get("/v1/config/schema", summary="The registry in the platform's shape: {bot_type, settings: {key: {type, "
     "applies_to, storage, label, help, default, legacy_keys, ui_widget}}}; ?bot_type=chat|agent filters")
async def config_schema(registry: Keys, bot_type: FromQuery[str | None] = None) -> dict[str, Any]:
    return registry.config_schema(bot_type)


HANDLERS = [list_keys, get_key, config_schema]
