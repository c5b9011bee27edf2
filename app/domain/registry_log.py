"""Key definitions recorded in the log: operators define, change and retire keys
without a release of botsettings.

A definition is stored as a setting of the global scope under a reserved name,
``registry:<key>``, whose value is the whole definition (a JSON object) or
``{"retired": true}``. So each is a change in the one log — actor, reason, time,
revision, NOTIFY to every process, history, as-of, rollback — with nothing new in
the change transaction. The read model projects them over the built-in registry
(app/domain/registry_defaults.py) and installs the result (:func:`registry_from`).

Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.registry import BUILTIN, Registry
from app.domain.registry_types import (
    BOT_TYPES,
    PLATFORM_TYPE,
    SLUG_TITLE,
    TRANSFORMS,
    Category,
    Kind,
    SettingDef,
    Storage,
)
from app.domain.scopes import ScopeType

PREFIX = "registry:"
RETIRED = {"retired": True}
_KINDS = {**{k.value: k for k in Kind}, "string_list": Kind.STR_LIST}
_FIELDS = {"type", "default", "applies_to", "scopes", "label", "help", "area", "unit", "minimum", "maximum",
           "min_length", "max_length", "choices", "nullable", "legacy", "legacy_keys", "renames", "ui_widget",
           "storage", "category"}


def is_definition(name: str) -> bool:
    return name.startswith(PREFIX)


def stored_name(key: str) -> str:
    return PREFIX + key


def to_doc(defn: SettingDef) -> dict[str, Any]:
    """A definition as the log stores it (and as `keys define` takes it)."""
    doc: dict[str, Any] = {
        "type": defn.kind.value, "default": defn.default, "applies_to": list(defn.applies_to),
        "scopes": sorted(s.value for s in defn.scopes), "label": defn.label, "help": defn.description,
        "area": defn.area, "category": defn.category.value, "storage": defn.storage.value,
        "nullable": defn.nullable, "legacy": list(defn.legacy), "renames": dict(defn.upcasts),
        "legacy_keys": list(defn.legacy_keys or ()), "ui_widget": defn.ui_widget}
    for name in ("unit", "minimum", "maximum", "min_length", "max_length"):
        if getattr(defn, name) is not None:
            doc[name] = getattr(defn, name)
    if defn.choices:
        doc["choices"] = list(defn.choices)
    return doc


def definition(key: str, doc: Mapping[str, Any], base: SettingDef | None) -> SettingDef:
    """Validate a definition document (merged over ``base``, the key's current
    definition, when it has one) into a SettingDef; ValidationFailed names each problem."""
    from app.domain.values import validate_value  # values imports the registry

    where = stored_name(key)
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        raise _bad(where, "a key definition is a JSON object")
    unknown = sorted(set(doc) - _FIELDS)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    merged = {**(to_doc(base) if base else {}), **doc}
    kind = _KINDS.get(str(merged.get("type")))
    if kind is None:
        raise _bad(where, f"type must be one of {', '.join(sorted(_KINDS))}, not {merged.get('type')!r}")
    if "default" not in merged:
        problems.append("a new key needs a default")
    applies = merged.get("applies_to", list(BOT_TYPES))
    if not isinstance(applies, list) or not set(applies) <= set(BOT_TYPES):
        problems.append("applies_to is a list of 'chat' and 'agent' ([] = global only)")
        applies = list(BOT_TYPES)
    scopes = merged.get("scopes") or (["bot", "global"] if applies else ["global"])
    if not isinstance(scopes, list) or not scopes or not set(scopes) <= {"bot", "global"}:
        problems.append("scopes is a non-empty list of 'bot' and 'global'")
        scopes = ["global"]
    renames = merged.get("renames") or {}
    if not isinstance(renames, Mapping) or any(t not in TRANSFORMS for t in renames.values()):
        problems.append(f"renames maps an old name to one of {', '.join(TRANSFORMS)}")
        renames = {}
    legacy = merged.get("legacy") or []
    if not isinstance(legacy, list) or not all(isinstance(n, str) and n for n in legacy):
        problems.append("legacy is a list of old key names")
        legacy = []
    try:
        category = Category(merged.get("category", "tunable"))
        storage = Storage(merged.get("storage", "runtime_setting"))
    except ValueError as exc:
        problems.append(str(exc))
        category, storage = Category.TUNABLE, Storage.RUNTIME_SETTING
    if category not in (Category.TUNABLE, Category.PROFILE):
        problems.append("only tunable and profile keys are defined here (the environment's stay in code)")
    if problems:
        raise ValidationFailed([FieldError(key=where, code="invalid_definition", message=f"'{key}': {p}")
                                for p in problems])
    try:
        defn = SettingDef(
            key=key, kind=kind, default=merged.get("default"), category=category,
            scopes=frozenset(ScopeType(s) for s in scopes), area=str(merged.get("area") or "general"),
            description=str(merged.get("help") or ""), label=str(merged.get("label") or ""),
            unit=merged.get("unit"), minimum=merged.get("minimum"), maximum=merged.get("maximum"),
            min_length=merged.get("min_length"), max_length=merged.get("max_length"),
            choices=tuple(merged.get("choices") or ()), nullable=bool(merged.get("nullable", False)),
            env=base.env if base else (), legacy=(*legacy, *(n for n in renames if n not in legacy)),
            upcasts=tuple(renames.items()), legacy_keys=tuple(merged.get("legacy_keys") or ()) or None,
            applies_to=tuple(applies), storage=storage, ui_widget=str(merged.get("ui_widget") or ""))
    except (TypeError, msgspec.ValidationError) as exc:
        raise _bad(where, f"'{key}': {exc}") from exc
    if defn.default != SLUG_TITLE:
        try:
            validate_value(defn, defn.default)
        except ValidationFailed as exc:
            raise _bad(where, f"the default does not fit the definition: {exc.errors[0].message}") from exc
    return defn


def validate_entry(name: str, value: Any, current: Registry) -> Any:
    """A write of ``registry:<key>``: a definition (returned whole, merged over the
    current one) or ``{"retired": true}`` (of a key the registry has)."""
    key = name[len(PREFIX):]
    if not key or not key.replace("_", "a").isalnum() or not key[0].isalpha() or key != key.lower():
        raise _bad(name, f"'{key}' is not a key name: lower-case letters, digits and '_', starting with a letter")
    if isinstance(value, Mapping) and value.get("retired") is True:
        if key not in current.defs:
            raise _bad(name, f"'{key}' is not in the registry: nothing to retire")
        return dict(RETIRED)
    return to_doc(definition(key, value, current.defs.get(key)))


def from_platform_schema(doc: Mapping[str, Any], current: Registry) -> dict[str, dict[str, Any]]:
    """Definitions from the platform's `GET /v1/config/schema` answer (``{"settings": {key:
    {type, applies_to, storage, label, help, default, legacy_keys, ui_widget}}}``, or the bare
    mapping). Where the platform's type name is the one botsettings already has for a key,
    the key keeps its richer type (an enum, bounds); legacy names are shown, not mapped (a
    rename needs its transform, given with ``renames``)."""
    settings = doc.get("settings", doc) if isinstance(doc, Mapping) else None
    if not isinstance(settings, Mapping) or not all(isinstance(v, Mapping) for v in settings.values()):
        raise _bad("settings", "expected the platform's schema: {\"settings\": {key: {type, default, …}}}")
    out: dict[str, dict[str, Any]] = {}
    for key, entry in settings.items():
        known = current.defs.get(key)
        item: dict[str, Any] = {name: entry[name] for name in ("default", "applies_to", "storage", "label", "help",
                                                               "legacy_keys", "ui_widget") if name in entry}
        if known is not None and not item.get("help"):
            item.pop("help", None)
        if known is not None and set(item.get("legacy_keys") or ()) <= set(known.shown_legacy_keys):
            item.pop("legacy_keys", None)  # already shown (and mapped) here
        if known is None or PLATFORM_TYPE[known.kind] != entry.get("type"):
            item["type"] = entry.get("type")
        out[str(key)] = item
    return out


def registry_from(entries: Mapping[str, Any]) -> Registry:
    """The built-in registry with the log's definitions (global-scope ``registry:*``
    values) on top; an entry that no longer validates is skipped (the built-in stays)."""
    defs: list[SettingDef] = []
    retired: list[str] = []
    for name, doc in entries.items():
        if not is_definition(name):
            continue
        key = name[len(PREFIX):]
        if isinstance(doc, Mapping) and doc.get("retired") is True:
            retired.append(key)
            continue
        try:
            defs.append(definition(key, doc, BUILTIN.defs.get(key)))
        except ValidationFailed:
            continue
    return BUILTIN.overlay(defs, retired) if defs or retired else BUILTIN


def _bad(name: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(key=name, code="invalid_definition", message=message)])
