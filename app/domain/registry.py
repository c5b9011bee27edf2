"""The registry: every setting key, declared once, and the lookups by name and scope.

A :class:`Registry` is a value: the built-in definitions (app/domain/registry_defaults.py)
with, on top, the definitions recorded in the log (define, change, retire; see
app/domain/registry_log.py). The read model installs the registry of the state it
holds with :func:`install`; the module-level names (``REGISTRY``, ``canonical_key``,
``keys_for``, ``lookup_writable`` …) always answer for the installed one, so code that
imports them follows a registry change without being handed the registry.
The validation of values against a definition is in app/domain/values.py.

Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.domain.errors import FieldError, ValidationFailed
from app.domain.model_catalogue import DEFINITION as MODEL_CATALOGUE
from app.domain.registry_defaults import DEFAULT_DEFINITIONS
from app.domain.registry_types import (
    BOT_ONLY,
    BOTH,
    GLOBAL_ONLY,
    MAX_VALUE_BYTES,
    SLUG_TITLE,
    TRANSFORMS,
    UNSET,
    WRITABLE,
    Category,
    Kind,
    SettingDef,
    Storage,
)
from app.domain.scopes import Scope, ScopeType

__all__ = [
    "BOTH",
    "BOT_KEYS",
    "BOT_ONLY",
    "BOT_SNAPSHOT_KEYS",
    "ENV_ONLY_BY_VARIABLE",
    "GLOBAL_KEYS",
    "GLOBAL_ONLY",
    "LEGACY_NAMES",
    "MAX_VALUE_BYTES",
    "REGISTRY",
    "SLUG_TITLE",
    "UNSET",
    "WRITABLE",
    "WRITABLE_KEYS",
    "Category",
    "Kind",
    "Registry",
    "SettingDef",
    "Storage",
    "canonical_key",
    "current",
    "install",
    "keys_for",
    "lookup_writable",
    "refusal",
    "upcast",
]


class Registry:
    """An immutable set of key definitions, in order, with its derived lookups."""

    def __init__(self, defs: Iterable[SettingDef], retired: Iterable[str] = ()) -> None:
        self.defs: dict[str, SettingDef] = {d.key: d for d in defs}
        self.retired: frozenset[str] = frozenset(retired)
        self.legacy: dict[str, str] = {old: d.key for d in self.defs.values() for old in d.legacy
                                       if old not in self.defs}
        self.writable_keys: tuple[str, ...] = tuple(k for k, d in self.defs.items() if d.writable)
        # Operators often write an environment-only setting by its variable name
        # (`DATABASE_URL`, `XAI_API_KEY`); those get the same refusal as the key itself.
        self.env_only: dict[str, SettingDef] = {
            name: d for d in self.defs.values() if not d.writable for name in d.env}
        self.bot_keys = [d for d in self.defs.values() if d.writable and ScopeType.BOT in d.scopes]
        self.global_keys = [d for d in self.defs.values() if d.writable and ScopeType.GLOBAL in d.scopes]
        # A bot's snapshot also holds the global-only keys (resolved without a bot layer):
        # what acts on a bot's requests includes them (request_output_reserve).
        self.bot_snapshot_keys = self.bot_keys + [d for d in self.global_keys if ScopeType.BOT not in d.scopes]

    def overlay(self, defs: Iterable[SettingDef], retired: Iterable[str] = ()) -> Registry:
        """This registry with ``defs`` replacing or extending it and ``retired`` removed."""
        merged = dict(self.defs)
        for d in defs:
            merged[d.key] = d
        gone = set(retired)
        return Registry((d for k, d in merged.items() if k not in gone), self.retired | gone)


BUILTIN = Registry([*DEFAULT_DEFINITIONS, MODEL_CATALOGUE])  # the model catalogue: app/domain/model_catalogue.py

# The installed registry's lookups, as containers updated in place by install(), so a
# module that imported them before a registry change still sees the current one.
REGISTRY: dict[str, SettingDef] = {}
LEGACY_NAMES: dict[str, str] = {}
ENV_ONLY_BY_VARIABLE: dict[str, SettingDef] = {}
WRITABLE_KEYS: list[str] = []
BOT_KEYS: list[SettingDef] = []  # writable in a bot scope, in registry order
GLOBAL_KEYS: list[SettingDef] = []  # writable in the global scope
BOT_SNAPSHOT_KEYS: list[SettingDef] = []  # resolved in a bot's snapshot
_current: list[Registry] = [BUILTIN]


def install(registry: Registry) -> None:
    """Make ``registry`` the one every lookup of this process answers for."""
    _current[0] = registry
    REGISTRY.clear()
    REGISTRY.update(registry.defs)
    LEGACY_NAMES.clear()
    LEGACY_NAMES.update(registry.legacy)
    ENV_ONLY_BY_VARIABLE.clear()
    ENV_ONLY_BY_VARIABLE.update(registry.env_only)
    WRITABLE_KEYS[:] = registry.writable_keys
    BOT_KEYS[:] = registry.bot_keys
    GLOBAL_KEYS[:] = registry.global_keys
    BOT_SNAPSHOT_KEYS[:] = registry.bot_snapshot_keys


def current() -> Registry:
    return _current[0]


install(BUILTIN)


def canonical_key(name: str) -> tuple[str, str | None]:
    """Map a legacy name to its canonical key; returns (key, warning or None)."""
    new = LEGACY_NAMES.get(name)
    if new is None:
        return name, None
    return new, f"'{name}' is a legacy name; it was read as '{new}'"


def upcast(name: str, value: Any) -> tuple[str, Any]:
    """A value stored or written under ``name``, as the current registry reads it:
    (current key, value transformed) — the value is ``UNSET`` when the old value has no
    counterpart under the new name. Current names pass through unchanged."""
    new = LEGACY_NAMES.get(name)
    if new is None:
        return name, value
    return new, TRANSFORMS[REGISTRY[new].transform_for(name)](value)


def keys_for(scope_type: ScopeType) -> list[SettingDef]:
    """Every writable key that may be stored in a scope of this type, in registry order."""
    return list(BOT_KEYS if scope_type is ScopeType.BOT else GLOBAL_KEYS)


def lookup_writable(key: str, scope: Scope) -> SettingDef:
    """The definition of a key that may be written in ``scope``, or ValidationFailed."""
    defn = REGISTRY.get(key) or ENV_ONLY_BY_VARIABLE.get(key)
    if defn is None:
        if key in current().retired:
            raise refusal(key, "retired_key", f"'{key}' was retired from the registry", scope)
        raise refusal(key, "unknown_key", f"unknown setting '{key}'", scope)
    if not defn.writable:
        where = " or ".join(defn.env)
        raise refusal(key, f"{defn.category.value}_key",
                    f"'{key}' is {'a secret' if defn.category is Category.SECRET else 'infrastructure'}"
                    f" and belongs in the environment ({where}), not in the settings store", scope)
    if scope.type not in defn.scopes:
        allowed = " and ".join(sorted(s.value for s in defn.scopes))
        raise refusal(key, "scope_not_allowed",
                    f"'{key}' cannot be set in the {scope.type.value} scope (allowed: {allowed})", scope)
    return defn


def refusal(key: str, code: str, message: str, scope: Scope | None = None) -> ValidationFailed:
    """A validation failure naming one key (and the scope, when there is one)."""
    return ValidationFailed([FieldError(key=key, code=code, message=message,
                                        scope=str(scope) if scope else None)])
