"""What the settings pages show, built from the service layer's in-memory state:
every key of a scope grouped by area, its effective value and source, every layer's
value beneath it, and (for the global scope) which bots each value reaches."""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain.registry import SettingDef
from app.domain.resolution import BOT_KEYS, GLOBAL_KEYS, Layer, LayerReading
from app.services.settings import SettingsService

# The registry's areas, in the order an operator thinks about a bot.
AREAS = ("profile", "context", "history", "summarization", "memory", "generation", "search", "agent",
         "maintenance")
SOURCE_TEXT = {
    Layer.REQUEST: "a request override",
    Layer.BOT: "this bot's own value, stored in the database",
    Layer.GLOBAL: "the global value, stored in the database",
    Layer.YAML: "bots.yaml",
    Layer.ENV: "an environment variable",
    Layer.DEFAULT: "the registry's default",
}


class Row(msgspec.Struct, kw_only=True):
    defn: SettingDef
    value: Any
    source: str
    stored: bool  # the page's own scope holds a value: it can be reset to inherited
    inherited: LayerReading | None  # what the key would be without the stored value
    layers: list[LayerReading]  # top to bottom, the winner first among the present ones
    reaches: list[str] = []  # global page: bots that get this value
    overridden: list[tuple[str, str]] = []  # global page: (bot, source) that do not
    error: str | None = None
    entered: str | None = None  # the text a refused form post held, shown again


class Group(msgspec.Struct, kw_only=True):
    area: str
    rows: list[Row]


def _grouped(rows: list[Row]) -> list[Group]:
    by_area: dict[str, list[Row]] = {}
    for row in rows:
        by_area.setdefault(row.defn.area, []).append(row)
    order = [a for a in AREAS if a in by_area] + [a for a in by_area if a not in AREAS]
    return [Group(area=a, rows=by_area[a]) for a in order]


def _below(readings: list[LayerReading], stored_layer: Layer) -> LayerReading | None:
    seen = False
    for reading in readings:
        if reading.layer is stored_layer:
            seen = True
        elif seen and reading.present:
            return reading
    return None


def applicable(bot_type: str | None) -> list[SettingDef]:
    """The keys a bot's page shows: those that act on its type (the platform's
    ``applies_to``; a bot without a type is a chat bot). The profile is always shown."""
    return [d for d in BOT_KEYS if d.area == "profile" or d.applies(bot_type)]


def hidden_count(bot_type: str | None) -> int:
    return len(BOT_KEYS) - len(applicable(bot_type))


def bot_groups(service: SettingsService, slug: str, errors: dict[str, tuple[str, str]] | None = None) -> list[Group]:
    snap = service.snapshot(slug)
    rows = []
    for defn in applicable(snap["bot_type"]):
        readings = [r for r in service.explain(slug, defn.key) if r.layer is not Layer.REQUEST]
        source = snap.source(defn.key)
        error, entered = (errors or {}).get(defn.key, (None, None))
        rows.append(Row(defn=defn, value=snap[defn.key], source=source.value, stored=source is Layer.BOT,
                        inherited=_below(readings, Layer.BOT) if source is Layer.BOT else None,
                        layers=readings, error=error, entered=entered))
    return _grouped(rows)


def global_groups(service: SettingsService, errors: dict[str, tuple[str, str]] | None = None) -> list[Group]:
    snap = service.global_snapshot()
    bots = {slug: service.snapshot(slug) for slug in service.known_bots()}
    bot_key_names = {d.key for d in BOT_KEYS}
    rows = []
    for defn in GLOBAL_KEYS:
        readings = [r for r in service.explain(None, defn.key)
                    if r.layer in (Layer.GLOBAL, Layer.ENV, Layer.DEFAULT)]
        source = snap.source(defn.key)
        reaches, overridden = [], []
        if defn.key in bot_key_names:
            for slug, bot in bots.items():
                theirs = bot.source(defn.key)
                if theirs is source:
                    reaches.append(slug)
                else:
                    overridden.append((slug, theirs.value))
        error, entered = (errors or {}).get(defn.key, (None, None))
        rows.append(Row(defn=defn, value=snap[defn.key], source=source.value, stored=source is Layer.GLOBAL,
                        inherited=_below(readings, Layer.GLOBAL) if source is Layer.GLOBAL else None,
                        layers=readings, reaches=reaches, overridden=overridden, error=error, entered=entered))
    return _grouped(rows)
