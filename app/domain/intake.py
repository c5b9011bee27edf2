"""Reading settings from the platform's files for an import: the environment (or an
env file) and bots.yaml, tolerantly.

At start-up a bad value stops the service (app/domain/environment.py, bots_yaml.py).
An import is different: the operator wants to see everything that will and will not
be carried over, so each entry is either accepted (canonical key, validated value)
or reported as ignored with a reason — never silently dropped, never fatal.
Pure: callers pass the environment mapping and the files' text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from app.domain.acceptance import Ignored, Reason, accept
from app.domain.bots_yaml import deep_merge, normalise_template, parse_document
from app.domain.registry import REGISTRY, Category, canonical_key
from app.domain.scopes import GLOBAL, Scope, ScopeType, is_slug

ENV_PREFIX = "LLM_BAWT_"
EXTRA = "extra"  # the profile key holding the platform's profile fields without a setting


class Incoming(msgspec.Struct, kw_only=True):
    """Values to import, by scope, with what was ignored and warnings (legacy names)."""

    values: dict[Scope, dict[str, Any]] = {}
    ignored: list[Ignored] = []
    warnings: list[str] = []

    def merge(self, other: Incoming) -> Incoming:
        values = {s: dict(v) for s, v in self.values.items()}
        for scope, vals in other.values.items():
            values.setdefault(scope, {}).update(vals)
        return Incoming(values=values, ignored=[*self.ignored, *other.ignored],
                        warnings=[*self.warnings, *other.warnings])


# Every variable the registry knows of (tunables, legacy names, infra, secrets).
_ENV_NAMES: dict[str, str] = {name: d.key for d in REGISTRY.values() for name in d.env}


def env_names(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` an import looks at: LLM_BAWT_* and the registry's."""
    return {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX) or k in _ENV_NAMES}


def from_env(environ: Mapping[str, str]) -> Incoming:
    """Global-scope values from LLM_BAWT_* variables (and legacy ones); the canonical
    variable wins over a legacy one, which is then reported as superseded."""
    incoming = Incoming(values={GLOBAL: {}})
    taken: dict[str, str] = {}  # key → variable it came from
    ordered = sorted(env_names(environ), key=lambda n: (_env_rank(n), n))
    for name in ordered:
        key = _ENV_NAMES.get(name, name[len(ENV_PREFIX):].lower() if name.startswith(ENV_PREFIX) else name)
        if key in taken:
            incoming.ignored.append(Ignored(scope="global", name=name, reason=Reason.SUPERSEDED,
                                            detail=f"{taken[key]} is set and wins"))
            continue
        result = accept(ScopeType.GLOBAL, "global", name, key, environ[name], Category.TUNABLE, from_text=True)
        if isinstance(result, Ignored):
            incoming.ignored.append(result)
            continue
        key, value, _ = result
        if name != REGISTRY[key].env[0]:
            incoming.warnings.append(f"{name} is a legacy variable; use {REGISTRY[key].env[0]}")
        taken[key] = name
        incoming.values[GLOBAL][key] = value
    return incoming


def _env_rank(name: str) -> int:
    key = _ENV_NAMES.get(name)
    return 0 if key is None or REGISTRY[key].env[0] == name else 1


def parse_env_file(text: str) -> dict[str, str]:
    """A dotenv file: KEY=VALUE lines, `export ` prefixes, quotes, `#` comments."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip()] = value
    return values


def from_bots_yaml(documents: list[tuple[str, str]], extra_bots: Iterable[str] = ()) -> Incoming:
    """Bot-scope values: each bot's settings over the template, and its profile fields.

    ``extra_bots`` (bots that exist only in the database) get the template too: it is
    every bot's base, and importing it keeps them resolving as before.
    """
    merged: dict[str, Any] = {}
    for source, text in documents:
        merged = deep_merge(merged, normalise_template(parse_document(text, source), source, []))
    incoming = Incoming()
    template = merged.get("bot_settings_template")
    template_values = _settings_block("bot_settings_template", "bot_settings_template", template, incoming)
    bots = merged.get("bots") if isinstance(merged.get("bots"), dict) else {}
    assert isinstance(bots, dict)
    for slug in sorted({*bots, *extra_bots}, key=str):
        if not is_slug(slug):
            incoming.ignored.append(Ignored(scope=f"bots/{slug}", name=f"bots.{slug}", reason=Reason.WRONG_TYPE,
                                            detail="not a valid bot slug (1-64 characters a-z, 0-9, '_' or '-')"))
            continue
        scope = Scope(ScopeType.BOT, slug)
        entry = bots.get(slug) or {}
        if not isinstance(entry, dict):
            incoming.ignored.append(Ignored(scope=str(scope), name=f"bots.{slug}", reason=Reason.WRONG_TYPE,
                                            detail="a bot must be a mapping"))
            continue
        own = _settings_block(str(scope), f"bots.{slug}.settings", entry.get("settings"), incoming)
        block = entry.get("settings")
        named = {canonical_key(str(n))[0] for n in block} if isinstance(block, dict) else set()
        values = {**{k: v for k, v in template_values.items() if k not in named}, **own}
        extra: dict[str, Any] = {}
        for field, value in entry.items():
            if field == "settings":
                continue
            result = accept(ScopeType.BOT, str(scope), f"bots.{slug}.{field}", str(field), value, Category.PROFILE)
            if isinstance(result, Ignored) and result.reason is Reason.UNKNOWN:
                extra[str(field)] = value  # a platform profile field without a setting: kept as written
            elif isinstance(result, Ignored):
                incoming.ignored.append(result)
            else:
                values[result[0]] = result[1]
        if extra:
            result = accept(ScopeType.BOT, str(scope), f"bots.{slug}.({', '.join(extra)})", EXTRA, extra,
                            Category.PROFILE)
            if isinstance(result, Ignored):
                incoming.ignored.append(result)
            else:
                values[EXTRA] = result[1]
        incoming.values[scope] = values
    _top_level(merged, incoming)
    return incoming


# The default bot per mode: the platform's service uses `standard` (its DEFAULT_BOT).
DEFAULT_BOT_MODE = "standard"
_BOT_SECTIONS = ("bots", "bot_settings_template")


def _top_level(doc: Mapping[str, Any], incoming: Incoming) -> None:
    """The file's other sections: `defaults.standard` becomes the global `default_bot`;
    every other entry is reported, by name, as not migrated — never dropped silently."""
    defaults = doc.get("defaults")
    if isinstance(defaults, dict):
        for mode, slug in defaults.items():
            if mode == DEFAULT_BOT_MODE and is_slug(slug):
                incoming.values.setdefault(GLOBAL, {})["default_bot"] = slug
            elif mode == DEFAULT_BOT_MODE:
                incoming.ignored.append(Ignored(scope="global", name=f"defaults.{mode}", reason=Reason.WRONG_TYPE,
                                                detail=f"{slug!r} is not a bot slug"))
            else:
                incoming.ignored.append(Ignored(
                    scope="global", name=f"defaults.{mode}", reason=Reason.NOT_MIGRATED,
                    detail=f"the default bot of the '{mode}' mode ({slug!r}): only the standard mode's default "
                           "(defaults.standard → default_bot) is a setting; the platform's current code has no "
                           "other mode"))
    elif defaults is not None:
        incoming.ignored.append(Ignored(scope="global", name="defaults", reason=Reason.WRONG_TYPE,
                                        detail="defaults must be a mapping of mode → bot slug"))
    prompts = doc.get("system_prompts")
    for name in (prompts if isinstance(prompts, dict) else {}):
        incoming.ignored.append(Ignored(
            scope="global", name=f"system_prompts.{name}", reason=Reason.NOT_MIGRATED,
            detail="a named system prompt of the platform's own tools, not a bot's or the global scope's "
                   "setting; it stays in the platform"))
    for key in doc:
        if key not in (*_BOT_SECTIONS, "defaults", "system_prompts"):
            incoming.ignored.append(Ignored(scope="global", name=str(key), reason=Reason.NOT_MIGRATED,
                                            detail="a top-level section botsettings does not know"))


def _settings_block(label: str, where: str, block: Any, incoming: Incoming) -> dict[str, Any]:
    """Accepted tunables of one settings block (bound for bot scopes). Own-block entries
    that are ignored are left out entirely, not replaced by the template's value."""
    if block is None:
        return {}
    if not isinstance(block, dict):
        incoming.ignored.append(Ignored(scope=label, name=where, reason=Reason.WRONG_TYPE,
                                        detail="a settings block must be a mapping"))
        return {}
    values: dict[str, Any] = {}
    for name, value in block.items():
        result = accept(ScopeType.BOT, label, f"{where}.{name}", str(name), value, Category.TUNABLE)
        if isinstance(result, Ignored):
            incoming.ignored.append(result)
            continue
        key, val, legacy = result
        if key in values:
            incoming.ignored.append(Ignored(scope=label, name=f"{where}.{name}", reason=Reason.SUPERSEDED,
                                            detail=f"'{key}' is given more than once in this block"))
            continue
        if legacy:
            incoming.warnings.append(f"{where}.{name}: {legacy}")
        values[key] = val
    return values
