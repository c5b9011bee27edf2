"""bots.yaml: the platform's bots file, parsed, validated and deep-merged.

Pure: callers read the files and pass (source name, text) pairs. Later documents
(a user file) layer over earlier ones with the same merge rule as the template:
mappings merge recursively, anything else — lists included — replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import yaml

from app.domain.acceptance import Ignored, Reason, accept
from app.domain.errors import BotSettingsError
from app.domain.registry import REGISTRY, Category, canonical_key
from app.domain.scopes import ScopeType, is_slug
from app.domain.values import validate_value

# libyaml's safe loader when PyYAML has it: ten times faster on a 1,000-bot file.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TEMPLATE_KEYS = ("bot_settings_template", "bot_settings_defaults", "bot_defaults")
PROFILE_KEYS = frozenset(d.key for d in REGISTRY.values() if d.category is Category.PROFILE)


class BotsYamlError(BotSettingsError):
    title = "Invalid bots.yaml"


class YamlBot(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    profile: dict[str, Any]  # validated profile fields
    settings: dict[str, Any]  # validated tunables, template merged in


class BotsConfig(msgspec.Struct, frozen=True, kw_only=True):
    template: dict[str, Any] = {}
    bots: dict[str, YamlBot] = {}
    defaults: dict[str, str] = {}
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def default_bot(self) -> str | None:
        return self.defaults.get("standard")

    def global_layer(self) -> dict[str, Any]:
        """The file's part of the global scope: its default bot (`defaults.standard`)."""
        return {"default_bot": self.default_bot} if self.default_bot else {}

    def layer_for(self, slug: str) -> dict[str, Any]:
        """The YAML layer of one bot: its settings over the template, and its profile.
        A bot that is not in the file still gets the template (it is every bot's base)."""
        bot = self.bots.get(slug)
        if bot is None:
            return {**self.global_layer(), **self.template}
        # The file's global part too: a bot's snapshot also resolves the global-only keys.
        return {**self.global_layer(), **bot.settings, **bot.profile}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_document(text: str, source: str) -> dict[str, Any]:
    try:
        doc = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BotsYamlError(f"{source}: not valid YAML{where}: {problem}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise BotsYamlError(f"{source}: the top level must be a mapping, not {type(doc).__name__}")
    return doc


def load_bots(documents: list[tuple[str, str]]) -> BotsConfig:
    """Parse, check and layer bots files. Errors name the file, the bot and the key."""
    merged: dict[str, Any] = {}
    warnings: list[str] = []
    for source, text in documents:
        doc = parse_document(text, source)
        _check_document(doc, source, warnings)
        merged = deep_merge(merged, normalise_template(doc, source, warnings))
    return _build(merged, tuple(s for s, _ in documents), warnings)


def normalise_template(doc: dict[str, Any], source: str, warnings: list[str]) -> dict[str, Any]:
    present = [k for k in TEMPLATE_KEYS if k in doc]
    if len(present) > 1:
        warnings.append(f"{source}: {', '.join(present)} are aliases; they were merged in that order")
    doc = dict(doc)
    template: dict[str, Any] = {}
    for key in present:
        template = deep_merge(template, doc.pop(key) or {})
    if present:
        doc["bot_settings_template"] = template
    return doc


def _check_document(doc: dict[str, Any], source: str, warnings: list[str]) -> None:
    """Types and values of one file, before layering, so errors can name the file."""
    for key in TEMPLATE_KEYS:
        if key in doc:
            block = _mapping(doc[key], source, key)
            _check_settings(block, source, key, warnings)
    bots = _mapping(doc.get("bots"), source, "bots")
    for slug, entry in bots.items():
        where = f"bots.{slug}"
        if not is_slug(slug):
            raise BotsYamlError(f"{source}: {where}: invalid bot slug {slug!r} "
                                "(1-64 characters a-z, 0-9, '_' or '-')")
        entry = _mapping(entry, source, where)
        for field, value in entry.items():
            if field == "settings":
                _check_settings(_mapping(value, source, f"{where}.settings"), source, f"{where}.settings",
                                warnings)
                continue
            result = accept(ScopeType.BOT, where, f"{where}.{field}", str(field), value, Category.PROFILE)
            if isinstance(result, Ignored):
                _warn_or_raise(result, source, warnings,
                               unknown="is not a known profile field (kept in the bot's extra)",
                               misplaced=f"is a setting; put it under {where}.settings (kept, not used)")
    defaults = _mapping(doc.get("defaults"), source, "defaults")
    for name, slug in defaults.items():
        if not isinstance(slug, str):
            raise BotsYamlError(f"{source}: defaults.{name} must be a bot slug, got {slug!r}")
    for key in doc:
        if key not in ("bots", "defaults", *TEMPLATE_KEYS):
            warnings.append(f"{source}: top-level key '{key}' is not used (kept)")


def _check_settings(block: dict[str, Any], source: str, where: str, warnings: list[str]) -> None:
    for name, value in block.items():
        result = accept(ScopeType.BOT, where, f"{where}.{name}", str(name), value, Category.TUNABLE)
        if isinstance(result, Ignored):
            _warn_or_raise(result, source, warnings, unknown="is not a known setting (kept, not used)",
                           misplaced="is a profile field; put it on the bot itself (ignored)")
        elif result[2]:
            warnings.append(f"{source}: {where}.{name}: {result[2]}")


# How an entry the service does not use is worded at start-up (imports word it themselves).
_WARNINGS = {
    Reason.INFRA: "belongs in the environment (ignored)",
    Reason.SECRET: "belongs in the environment (ignored)",
    Reason.WRONG_SCOPE: "is global-only (ignored)",
}


def _warn_or_raise(item: Ignored, source: str, warnings: list[str], *, unknown: str, misplaced: str) -> None:
    if item.reason is Reason.WRONG_TYPE:
        raise BotsYamlError(f"{source}: {item.name}: {item.detail}")
    text = _WARNINGS.get(item.reason) or (misplaced if item.reason is Reason.MISPLACED else unknown)
    warnings.append(f"{source}: {item.name} {text}")


def _mapping(value: Any, source: str, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BotsYamlError(f"{source}: {where} must be a mapping, not {type(value).__name__}")
    return value


def _settings_of(block: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys that resolve as bot settings, canonical and normalised."""
    out: dict[str, Any] = {}
    for name, value in block.items():
        key, _ = canonical_key(str(name))
        defn = REGISTRY.get(key)
        if defn and defn.category is Category.TUNABLE and ScopeType.BOT in defn.scopes:
            out[key] = validate_value(defn, value)
    return out


def _build(doc: dict[str, Any], sources: tuple[str, ...], warnings: list[str]) -> BotsConfig:
    template_block = doc.get("bot_settings_template") or {}
    template = _settings_of(template_block)
    bots: dict[str, YamlBot] = {}
    for slug, entry in (doc.get("bots") or {}).items():
        entry = entry or {}
        settings = _settings_of(deep_merge(template_block, entry.get("settings") or {}))
        profile = {k: validate_value(REGISTRY[k], v) for k, v in entry.items() if k in PROFILE_KEYS}
        # The platform's profile fields without a setting (color, avatar, …) are kept in `extra`.
        extra = {k: v for k, v in entry.items() if k != "settings" and canonical_key(str(k))[0] not in REGISTRY}
        if extra and "extra" in REGISTRY:
            profile["extra"] = validate_value(REGISTRY["extra"], {**extra, **(profile.get("extra") or {})})
        bots[slug] = YamlBot(slug=slug, profile=profile, settings=settings)
    defaults = dict(doc.get("defaults") or {})
    for name, slug in defaults.items():
        if slug not in bots:
            warnings.append(f"defaults.{name} names '{slug}', which is not a bot in the file")
    return BotsConfig(template=template, bots=bots, defaults=defaults, warnings=tuple(warnings), sources=sources)
