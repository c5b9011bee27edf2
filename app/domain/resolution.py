"""Resolution: which layer's value wins for a bot and a key, with its provenance.

request override → bot (db) → global (db) → bots.yaml → environment → default.
Pure: the caller supplies each layer's values; nothing here reads or waits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import msgspec

from app.domain import registry
from app.domain.errors import FieldError, ValidationFailed
from app.domain.registry import canonical_key, lookup_writable
from app.domain.scopes import Scope
from app.domain.values import validate_value


class Layer(StrEnum):
    REQUEST = "request"
    BOT = "bot"
    GLOBAL = "global"
    YAML = "yaml"
    ENV = "env"
    DEFAULT = "default"


ORDER = tuple(Layer)
# The installed registry's keys (lists that app.domain.registry.install updates in place).
BOT_KEYS = registry.BOT_KEYS
GLOBAL_KEYS = registry.GLOBAL_KEYS


class Resolved(msgspec.Struct, frozen=True, gc=False):
    value: Any
    source: Layer


class Snapshot:
    """All keys of one bot (or of the global scope) at one revision. Immutable."""

    __slots__ = ("bot", "revision", "stale", "values")

    def __init__(self, bot: str | None, revision: int, values: dict[str, Resolved], stale: bool = False) -> None:
        self.bot = bot
        self.revision = revision
        self.stale = stale
        self.values: Mapping[str, Resolved] = MappingProxyType(values)

    def __getitem__(self, key: str) -> Any:
        return self.values[key].value

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def source(self, key: str) -> Layer:
        return self.values[key].source

    def with_overrides(self, overrides: Mapping[str, Any]) -> Snapshot:
        if not overrides:
            return self
        values = dict(self.values)
        for key, value in overrides.items():
            values[key] = Resolved(value, Layer.REQUEST)
        return Snapshot(self.bot, self.revision, values, self.stale)

    def as_dict(self, keys: list[str] | None = None) -> dict[str, dict[str, Any]]:
        chosen = self.values if keys is None else {k: self.values[k] for k in keys}
        return {k: {"value": r.value, "source": r.source.value, "revision": self.revision}
                for k, r in chosen.items()}


class LayerValues(msgspec.Struct, frozen=True, kw_only=True):
    """The stored layers of one bot; any may be empty."""

    bot: Mapping[str, Any]
    global_: Mapping[str, Any]
    yaml: Mapping[str, Any]
    env: Mapping[str, Any]


def build_snapshot(slug: str | None, revision: int, layers: LayerValues, stale: bool = False) -> Snapshot:
    """Resolve every key of a bot (``slug``) or, with ``slug=None``, of the global scope."""
    values: dict[str, Resolved] = {}
    bot, glob, yml, env = layers.bot, layers.global_, layers.yaml, layers.env
    for defn in registry.BOT_SNAPSHOT_KEYS if slug is not None else GLOBAL_KEYS:
        key = defn.key
        if key in bot:
            values[key] = Resolved(bot[key], Layer.BOT)
        elif key in glob:
            values[key] = Resolved(glob[key], Layer.GLOBAL)
        elif key in yml:
            values[key] = Resolved(yml[key], Layer.YAML)
        elif key in env:
            values[key] = Resolved(env[key], Layer.ENV)
        else:
            values[key] = Resolved(defn.default_for(slug), Layer.DEFAULT)
    return Snapshot(slug, revision, values, stale)


class LayerReading(msgspec.Struct, frozen=True):
    layer: Layer
    present: bool
    value: Any = None


def explain(key: str, slug: str | None, layers: LayerValues, overrides: Mapping[str, Any]) -> list[LayerReading]:
    """Every layer's value for one key, top to bottom (the first present one wins)."""
    defn = next(d for d in (registry.BOT_SNAPSHOT_KEYS if slug is not None else GLOBAL_KEYS) if d.key == key)
    readings = []
    for layer, source in ((Layer.REQUEST, overrides), (Layer.BOT, layers.bot), (Layer.GLOBAL, layers.global_),
                          (Layer.YAML, layers.yaml), (Layer.ENV, layers.env)):
        readings.append(LayerReading(layer, key in source, source.get(key)))
    readings.append(LayerReading(Layer.DEFAULT, True, defn.default_for(slug)))
    return readings


def validate_overrides(overrides: Mapping[str, Any], scope: Scope) -> tuple[dict[str, Any], list[str]]:
    """Request overrides are checked like writes: unknown keys and bad values are refused."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    warnings: list[str] = []
    for name, value in overrides.items():
        key, warning = canonical_key(name)
        if warning:
            warnings.append(warning)
        try:
            values[key] = validate_value(lookup_writable(key, scope), value)
        except ValidationFailed as exc:
            errors.extend(FieldError(key=e.key, code=e.code, message=f"override {e.message}") for e in exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values, warnings
