"""RegistryService: the key registry — every key's definition, one key, the platform's
schema shape; and defining, changing and retiring keys, each a change in the log
(app/domain/registry_log.py) that every process installs as it applies it."""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain import registry, scopes
from app.domain.audit import EventFilter, HistoryPage
from app.domain.errors import ValidationFailed
from app.domain.events import ChangeRequest, ChangeResult, Source, set_op
from app.domain.registry_log import RETIRED, from_platform_schema, stored_name, to_doc, validate_entry
from app.domain.registry_views import KeyDoc, check_bot_type, find, key_doc, platform_schema
from app.services.history import HistoryService
from app.services.settings import SettingsService


class RegistryService:
    """The registry installed in this process, and its changes."""

    def __init__(self, settings: SettingsService, history: HistoryService) -> None:
        self._settings = settings
        self._history = history

    async def _origins(self) -> dict[str, str]:
        view = await self._settings.scope_view(scopes.GLOBAL)
        return {v.key[len("registry:"):]: f"defined by {v.updated_by} at {v.updated_at:%Y-%m-%d %H:%M:%S} UTC "
                f"(revision {v.revision})" for v in view.values if v.key.startswith("registry:")}

    async def keys(self, bot_type: str | None = None) -> list[KeyDoc]:
        """Every key in registry order; with ``bot_type``, the keys that apply to it."""
        chosen = check_bot_type(bot_type)
        origins = await self._origins()
        return [_with_origin(key_doc(d), origins) for d in registry.current().defs.values()
                if chosen is None or chosen in d.applies_to]

    async def key(self, name: str) -> KeyDoc:
        """One key by its name or a legacy name (NotFound otherwise)."""
        return _with_origin(key_doc(find(registry.current(), name)), await self._origins())

    def config_schema(self, bot_type: str | None = None) -> dict[str, Any]:
        """The platform's `GET /v1/config/schema` answer."""
        return platform_schema(registry.current(), bot_type)

    async def define(self, key: str, definition: dict[str, Any], *, actor: str, reason: str = "",
                     source: Source = Source.API) -> ChangeResult:
        """Define a key, or change its definition (fields given replace the current ones)."""
        return await self._settings.set_value(scopes.GLOBAL, stored_name(key), definition, actor=actor,
                                              reason=reason, source=source)

    async def retire(self, key: str, *, actor: str, reason: str = "", source: Source = Source.API) -> ChangeResult:
        """Retire a key: it leaves the registry; its stored values stay in the log."""
        return await self._settings.set_value(scopes.GLOBAL, stored_name(key), dict(RETIRED), actor=actor,
                                              reason=reason, source=source)

    async def import_schema(self, doc: dict[str, Any], *, dry_run: bool, actor: str, reason: str = "",
                            source: Source = Source.CLI) -> tuple[dict[str, str], ChangeResult | None]:
        """Define every key of a platform's schema answer that differs from the registry,
        in one change: returns each key's fate (added, changed, unchanged) and the change."""
        current = registry.current()
        fates: dict[str, str] = {}
        ops = []
        errors = []
        for key, item in from_platform_schema(doc, current).items():
            try:
                entry = validate_entry(stored_name(key), item, current)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
                continue
            known = current.defs.get(key)
            if known is not None and to_doc(known) == entry:
                fates[key] = "unchanged"
                continue
            fates[key] = "changed" if known is not None else "added"
            ops.append(set_op(scopes.GLOBAL, stored_name(key), entry))
        if errors:
            raise ValidationFailed(errors)
        if dry_run or not ops:
            return fates, None
        return fates, await self._settings.apply(ChangeRequest(ops=ops, actor=actor, reason=reason or
                                                               "import of the platform's key definitions",
                                                               source=source))

    async def history(self, key: str, limit: int = 50) -> HistoryPage:
        """Every change of a key's definition, newest first."""
        return await self._history.history(EventFilter(scope=scopes.GLOBAL, key=stored_name(key)), limit)


def _with_origin(doc: KeyDoc, origins: dict[str, str]) -> KeyDoc:
    origin = origins.get(doc.key)
    return msgspec.structs.replace(doc, origin=origin) if origin else doc
