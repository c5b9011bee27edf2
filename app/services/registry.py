"""RegistryService: the key registry as operators and the platform read it — every
key's definition, one key, and the platform's schema shape. It answers for the
registry installed in this process (app/domain/registry.py)."""

from __future__ import annotations

from typing import Any

from app.domain import registry
from app.domain.registry_views import KeyDoc, check_bot_type, find, key_doc, platform_schema


class RegistryService:
    """Reads of the key registry; no I/O (the registry is in memory)."""

    def keys(self, bot_type: str | None = None) -> list[KeyDoc]:
        """Every key in registry order; with ``bot_type``, the keys that apply to it."""
        chosen = check_bot_type(bot_type)
        return [key_doc(d) for d in registry.current().defs.values()
                if chosen is None or chosen in d.applies_to]

    def key(self, name: str) -> KeyDoc:
        """One key by its name or a legacy name (NotFound otherwise)."""
        return key_doc(find(registry.current(), name))

    def config_schema(self, bot_type: str | None = None) -> dict[str, Any]:
        """The platform's `GET /v1/config/schema` answer."""
        return platform_schema(registry.current(), bot_type)
