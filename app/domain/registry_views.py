"""How a key definition is shown: in the platform's schema shape
(`GET /v1/config/schema`) and in botsettings' own key view (`GET /v1/keys`).

Pure code: no I/O.
"""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain.errors import BadRequest, NotFound
from app.domain.registry import SLUG_TITLE, Registry, canonical_key
from app.domain.registry_types import BOT_TYPES, PLATFORM_TYPE, TRANSFORM_HELP, SettingDef


class KeyDoc(msgspec.Struct, frozen=True, kw_only=True):
    """One key as operators read it."""

    key: str
    type: str  # botsettings' kind: int, float, bool, str, enum, str_list, json
    type_text: str  # the type with its bounds, in words
    default: Any
    category: str
    scopes: list[str]
    applies_to: list[str]
    global_only: bool
    storage: str
    label: str
    help: str
    area: str
    unit: str | None
    choices: list[str]
    nullable: bool
    env: list[str]
    legacy_keys: list[str]
    renames: dict[str, str]  # legacy name → the transform its values go through
    ui_widget: str
    origin: str  # "built-in"


def key_doc(defn: SettingDef) -> KeyDoc:
    return KeyDoc(
        key=defn.key, type=defn.kind.value, type_text=defn.describe_type(),
        default="<the slug, capitalised>" if defn.default == SLUG_TITLE else defn.default,
        category=defn.category.value, scopes=sorted(s.value for s in defn.scopes), applies_to=list(defn.applies_to),
        global_only=not defn.applies_to and bool(defn.scopes), storage=defn.storage.value,
        label=defn.label or defn.key.replace("_", " ").capitalize(), help=defn.description, area=defn.area,
        unit=defn.unit, choices=list(defn.choices), nullable=defn.nullable, env=list(defn.env),
        legacy_keys=list(defn.shown_legacy_keys),
        renames={old: f"{defn.transform_for(old)}: {TRANSFORM_HELP[defn.transform_for(old)]}" for old in defn.legacy},
        ui_widget=defn.ui_widget, origin="built-in")


def find(registry: Registry, name: str) -> SettingDef:
    """A key by its name or a legacy name, or NotFound naming it."""
    key, _ = canonical_key(name)
    defn = registry.defs.get(key)
    if defn is None:
        raise NotFound(f"unknown setting '{name}'" + (" (retired)" if name in registry.retired else ""), key=name)
    return defn


def check_bot_type(bot_type: str | None) -> str | None:
    """The platform's filter: chat, agent or nothing (every key); anything else is a 400."""
    chosen = (bot_type or "").strip().lower() or None
    if chosen is not None and chosen not in BOT_TYPES:
        raise BadRequest(f"bot_type must be 'chat' or 'agent', not {bot_type!r}")
    return chosen


def platform_schema(registry: Registry, bot_type: str | None) -> dict[str, Any]:
    """The platform's `GET /v1/config/schema` answer: ``{"bot_type": …, "settings": {key: {type,
    applies_to, storage, label, help, default, legacy_keys, ui_widget}}}``, the writable keys
    only (environment-only ones are not settings), filtered by ``applies_to`` when asked."""
    chosen = check_bot_type(bot_type)
    settings: dict[str, Any] = {}
    for defn in registry.defs.values():
        if not defn.writable or (chosen is not None and chosen not in defn.applies_to):
            continue
        settings[defn.key] = {
            "type": PLATFORM_TYPE[defn.kind], "applies_to": list(defn.applies_to), "storage": defn.storage.value,
            "label": defn.label or defn.key.replace("_", " ").capitalize(), "help": defn.description,
            "default": None if defn.default == SLUG_TITLE else defn.default,
            "legacy_keys": list(defn.shown_legacy_keys), "ui_widget": defn.ui_widget}
    return {"bot_type": chosen, "settings": settings}
