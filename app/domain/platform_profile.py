"""The platform's bot profile (its `bot_profiles` row, as its `/v1/bots/{slug}/profile`
routes read and write it) mapped onto bot-scope settings.

A profile field the registry holds as a profile key is stored under that key
(`nextcloud_config` under `nextcloud`); every other field the platform sends (color,
avatar, tts_mode, bot_type, agent_backend, … and fields newer than this module) is
kept, as sent, in the bot's `extra` profile key, a JSON object. So a profile save is
ONE change of bot-scope events like any other, and history, point-in-time reads and
rollback cover every field of it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.errors import FieldError, ValidationFailed
from app.domain.registry import REGISTRY, Category

EXTRA = "extra"
# The platform's column name → our key, where they differ.
RENAMED = {"nextcloud_config": "nextcloud"}
RENAMED_BACK = {v: k for k, v in RENAMED.items()}
# What the platform's PUT sets even when the request leaves it out: its request model's
# defaults (name and system_prompt are required there).
PUT_DEFAULTS: dict[str, Any] = {
    "description": "", "requires_memory": True, "voice_optimized": False, "tts_mode": False,
    "include_summaries": True, "include_in_global_search": True, "uses_tools": False, "uses_search": False,
    "uses_home_assistant": False,
}
REQUIRED_STR = ("name", "system_prompt")
# The identity and bookkeeping of a row, and the answer's settings: never a profile value.
NOT_PROFILE = frozenset({"slug", "settings", "created_at", "updated_at", EXTRA})
# Fields of the platform's answer with their defaults when nothing says otherwise.
ANSWER_DEFAULTS: dict[str, Any] = {
    "prompt_override_id": None, "tts_mode": False, "include_summaries": True, "include_in_global_search": True,
    "color": None, "avatar": None, "avatar_render": None, "default_voice": None, "nextcloud_config": None,
    "bot_type": "chat", "harness": None, "endpoint_id": None, "agent_backend": None, "agent_backend_config": None,
}


def profile_keys() -> frozenset[str]:
    """The registry's profile keys (read at call time: the registry is data)."""
    return frozenset(k for k, d in REGISTRY.items() if d.category is Category.PROFILE)


def key_for(field: str) -> str | None:
    """The profile key a platform field is stored under; None: it goes to `extra`."""
    key = RENAMED.get(field, field)
    return key if key in profile_keys() and key != EXTRA else None


def split_put(body: Mapping[str, Any], stored_extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values a `PUT /v1/bots/{slug}/profile` body sets, by key (`extra` merged over
    what the bot keeps there: a field not sent keeps its value, as on the platform)."""
    missing = [FieldError(key=f, code="required", message=f"'{f}' is required (a string)")
               for f in REQUIRED_STR if not isinstance(body.get(f), str)]
    if missing:
        raise ValidationFailed(missing)
    values: dict[str, Any] = {}
    extra = dict(stored_extra or {})
    for field, value in {**PUT_DEFAULTS, **body}.items():
        if field in NOT_PROFILE:
            continue
        key = key_for(field)
        if key is None:
            extra[field] = value
        else:
            values[key] = value
    if extra != dict(stored_extra or {}):
        values[EXTRA] = extra
    return values


def split_patch(body: Mapping[str, Any], stored_extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values a `PATCH /v1/bots/{slug}/profile` body sets: only the fields it names.
    As on the platform, a change of `agent_backend` without a `bot_type` derives the
    type from it (a backend makes an agent, none a chat bot)."""
    values: dict[str, Any] = {}
    extra = dict(stored_extra or {})
    for field, value in body.items():
        if field in NOT_PROFILE:
            continue
        key = key_for(field)
        if key is None:
            extra[field] = value
        else:
            values[key] = value
    if "agent_backend" in body and "bot_type" not in body and key_for("bot_type"):
        values["bot_type"] = "agent" if body["agent_backend"] else "chat"
    if extra != dict(stored_extra or {}):
        values[EXTRA] = extra
    return values


def answer(slug: str, resolved: Mapping[str, Any], own_default_model: str | None,
           settings: Mapping[str, Any]) -> dict[str, Any]:
    """The platform's profile answer from a bot's resolved values (profile keys and
    `extra`), its own default model (None: it uses the global one) and its settings."""
    extra = resolved.get(EXTRA) or {}
    body: dict[str, Any] = {"slug": slug, **ANSWER_DEFAULTS}
    for key in sorted(profile_keys() - {EXTRA}):
        body[RENAMED_BACK.get(key, key)] = resolved.get(key)
    body.update({k: v for k, v in extra.items() if k not in NOT_PROFILE})
    body["default_model"] = own_default_model
    body["description"] = body.get("description") or ""
    body["system_prompt"] = body.get("system_prompt") or ""
    body["settings"] = dict(settings)
    return body


def matches(profile: Mapping[str, Any], *, q: str | None, flags: Mapping[str, bool | None],
            default_model: str | None) -> bool:
    """The platform's filters of `GET /v1/bots/profiles`."""
    if q:
        haystack = " ".join(str(profile.get(f) or "") for f in ("slug", "name", "description")).lower()
        if q not in haystack:
            return False
    if any(want is not None and profile.get(flag) != want for flag, want in flags.items()):
        return False
    return default_model is None or profile.get("default_model") == default_model
