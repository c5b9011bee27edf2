"""A chat request as the gateway accepts it: OpenAI's shape, plus an optional
``timestamp`` per message and two fields of ours (``overrides``, ``upstream_model``).

Message fields are checked strictly (a typo such as ``contents`` is refused, naming
the message); top-level fields we do not interpret are forwarded unchanged, so
vendor extensions of an upstream (``top_k``, ``seed``, ``tools``…) keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.registry import REGISTRY, Category, canonical_key

SYSTEM_ROLES = frozenset({"system", "developer"})
BOT_MODEL_PREFIX = "bot/"
# OpenAI request fields that are settings overrides, and the key each one sets.
STANDARD_OVERRIDES = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_output_tokens",
                      "max_completion_tokens": "max_output_tokens"}
_INTERPRETED = frozenset({"model", "messages", "stream", "overrides", "upstream_model", *STANDARD_OVERRIDES})


class _WireMessage(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Any] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    function_call: dict[str, Any] | None = None
    refusal: str | None = None
    audio: dict[str, Any] | None = None
    timestamp: float | datetime | None = None  # ours: when the message was said (epoch s or RFC 3339)


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    timestamp: float | None  # epoch seconds; None = undated (the history window keeps it)
    wire: dict[str, Any]  # the message as received, minus ``timestamp``: what goes upstream

    @property
    def is_system(self) -> bool:
        return self.role in SYSTEM_ROLES


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    bot: str | None  # from ``model``: a slug or ``bot/<slug>``
    messages: tuple[ChatMessage, ...]
    overrides: dict[str, Any]  # canonical key → value, validated later like any override
    override_fields: dict[str, str]  # canonical key → the request field that set it
    upstream_model: str | None
    stream: bool
    passthrough: dict[str, Any]  # every other top-level field, forwarded unchanged


def decode_body(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ValidationFailed([FieldError(key="body", code="invalid_json",
                                           message=f"the body is not valid JSON: {exc}")]) from None


def parse_request(data: Any) -> ChatRequest:
    """Check and split a decoded request body; every problem is reported at once."""
    if not isinstance(data, Mapping):
        raise _fail("body", "the request body must be a JSON object")
    errors: list[FieldError] = []
    bot = _bot(data.get("model"), errors)
    messages = _messages(data.get("messages"), errors)
    overrides, fields = _overrides(data, errors)
    upstream_model = data.get("upstream_model")
    if upstream_model is not None and (not isinstance(upstream_model, str) or not upstream_model):
        errors.append(_error("upstream_model", "must be a non-empty string naming an allowed model"))
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        errors.append(_error("stream", "must be true or false"))
    if errors:
        raise ValidationFailed(errors)
    return ChatRequest(bot=bot, messages=tuple(messages), overrides=overrides, override_fields=fields,
                       upstream_model=upstream_model, stream=bool(stream),
                       passthrough={k: v for k, v in data.items() if k not in _INTERPRETED})


def _bot(model: Any, errors: list[FieldError]) -> str | None:
    if model is None:
        return None
    if not isinstance(model, str) or not model:
        errors.append(_error("model", "must be a bot slug such as 'mira' (or 'bot/mira')"))
        return None
    # Slugs are lower case; OpenAI clients and users write model names as they like ("Nova").
    return model.lower().removeprefix(BOT_MODEL_PREFIX)


def _messages(raw: Any, errors: list[FieldError]) -> list[ChatMessage]:
    if not isinstance(raw, list):
        shown = "missing" if raw is None else f"a {type(raw).__name__.replace('dict', 'object')}"
        errors.append(_error("messages", f"must be a list of messages, got {shown}"))
        return []
    if not raw:
        errors.append(_error("messages", "must hold at least one message"))
    try:  # one conversion for the whole list; item by item only to name every bad message
        checked = msgspec.convert(raw, list[_WireMessage])
    except msgspec.ValidationError:
        checked = None
    messages = []
    for i, item in enumerate(raw):
        if checked is not None:
            msg = checked[i]
        else:
            try:
                msg = msgspec.convert(item, _WireMessage)
            except msgspec.ValidationError as exc:
                errors.append(_error(f"messages[{i}]", str(exc).replace("$.", "").replace(" - at `$`", "")))
                continue
        wire = item
        if "timestamp" in item:
            wire = dict(item)
            del wire["timestamp"]
        messages.append(ChatMessage(role=msg.role, timestamp=_epoch(msg.timestamp), wire=wire))
    return messages


def _epoch(ts: float | datetime | None) -> float | None:
    if isinstance(ts, datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()
    return ts


def _overrides(data: Mapping[str, Any], errors: list[FieldError]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    fields: dict[str, str] = {}

    def put(key: str, value: Any, field: str) -> None:
        if key in values and values[key] != value:
            errors.append(_error(field, f"sets '{key}', which {fields[key]} already sets to {values[key]!r}"))
            return
        values[key], fields[key] = value, field

    for field, key in STANDARD_OVERRIDES.items():
        if data.get(field) is not None:
            put(key, data[field], field)
    extra = data.get("overrides")
    if extra is None:
        return values, fields
    if not isinstance(extra, Mapping):
        errors.append(_error("overrides", "must be an object of setting keys and values"))
        return values, fields
    for name, value in extra.items():
        key, _ = canonical_key(name)
        defn = REGISTRY.get(key)
        if defn is not None and defn.category is Category.PROFILE:
            errors.append(_error(f"overrides.{name}", f"'{key}' belongs to the bot's profile; "
                                 "a request cannot override it", code="profile_key"))
            continue
        put(key, value, f"overrides.{name}")
    return values, fields


def _error(key: str, message: str, code: str = "invalid_request") -> FieldError:
    return FieldError(key=key, code=code, message=f"{key}: {message}")


def _fail(key: str, message: str) -> ValidationFailed:
    return ValidationFailed([_error(key, message)])
