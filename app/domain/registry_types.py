"""The shape of a key definition: its type, bounds, default, the scopes it may be stored
in, the bot types it applies to, its legacy names and the value transform applied to a
value stored under a legacy name. The registry (app/domain/registry.py) holds them.

Pure code: no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from app.domain.scopes import ScopeType

# A stored value is JSON; this caps one value's encoded size (system_prompt's 64 KiB
# plus JSON quoting and escapes) so one key cannot bloat every process's memory.
MAX_VALUE_BYTES = 160 * 1024


class Kind(StrEnum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    ENUM = "enum"
    STR_LIST = "str_list"
    JSON = "json"  # a JSON object


# The platform's name of each type in its schema (`GET /v1/config/schema`).
PLATFORM_TYPE = {Kind.INT: "int", Kind.FLOAT: "float", Kind.BOOL: "bool", Kind.STR: "str",
                 Kind.ENUM: "str", Kind.STR_LIST: "string_list", Kind.JSON: "json"}


class Category(StrEnum):
    TUNABLE = "tunable"
    PROFILE = "profile"
    INFRA = "infra"
    SECRET = "secret"


class Storage(StrEnum):
    """Where the platform keeps a key (its schema's `storage`)."""
    RUNTIME_SETTING = "runtime_setting"
    BOT_COLUMN = "bot_profiles_column"
    AGENT_BACKEND_CONFIG = "agent_backend_config"
    REQUEST_FLAG = "request_flag"
    BOTSETTINGS = "botsettings"  # a key of botsettings' own (the gateway's rules)
    ENVIRONMENT = "environment"


WRITABLE = frozenset({Category.TUNABLE, Category.PROFILE})
BOTH = frozenset({ScopeType.GLOBAL, ScopeType.BOT})
BOT_ONLY = frozenset({ScopeType.BOT})
GLOBAL_ONLY = frozenset({ScopeType.GLOBAL})
BOT_TYPES = ("chat", "agent")
CHAT_AND_AGENT = BOT_TYPES

# Marker default: the bot's slug, capitalised (the platform's rule for `name`).
SLUG_TITLE = "<slug, capitalised>"


class Unset:
    """What a transform returns when an old value has no counterpart under the new name."""
    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def _identity(value: Any) -> Any:
    return value


def _positive_or_unset(value: Any) -> Any:
    # max_context_tokens → history_tokens: positive budgets carry over; the old
    # 0 = "auto" has no counterpart (history_tokens is never 0), so it reads as unset.
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return value
    return UNSET


# Named value transforms (upcasters). A definition names one per legacy name; names,
# not code, because definitions are data (they are stored in the log).
TRANSFORMS = {"identity": _identity, "positive_or_unset": _positive_or_unset}
TRANSFORM_HELP = {"identity": "the value as it was",
                  "positive_or_unset": "positive numbers carry over; 0 or less reads as unset (inherit)"}


class SettingDef(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    kind: Kind
    default: Any
    category: Category = Category.TUNABLE
    scopes: frozenset[ScopeType] = BOTH
    area: str = "general"
    description: str = ""
    label: str = ""
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    min_length: int | None = None
    max_length: int | None = None  # characters for str
    choices: tuple[str, ...] = ()
    nullable: bool = False
    env: tuple[str, ...] = ()  # environment variables read for the env layer, first wins
    legacy: tuple[str, ...] = ()  # old key names mapped to this one (reads, writes, history)
    # (old name, transform name) for a legacy name whose values change on the way; the
    # others are carried as they are.
    upcasts: tuple[tuple[str, str], ...] = ()
    # Names the platform lists as absorbed by this key without a plain rename (shown in
    # the schema; not mapped); defaults to ``legacy``.
    legacy_keys: tuple[str, ...] | None = None
    applies_to: tuple[str, ...] = CHAT_AND_AGENT  # bot types; () = global-only
    storage: Storage = Storage.RUNTIME_SETTING
    ui_widget: str = ""

    @property
    def writable(self) -> bool:
        return self.category in WRITABLE

    @property
    def shown_legacy_keys(self) -> tuple[str, ...]:
        extra = tuple(k for k in (self.legacy_keys or ()) if k not in self.legacy)
        return self.legacy + extra

    def transform_for(self, old_name: str) -> str:
        return dict(self.upcasts).get(old_name, "identity")

    def applies(self, bot_type: str | None) -> bool:
        """Whether the key acts on a bot of this type (None = chat)."""
        return (bot_type or "chat") in self.applies_to

    def default_for(self, scope_id: str | None = None) -> Any:
        if self.default == SLUG_TITLE:
            return scope_id.capitalize() if scope_id else None
        return self.default

    def describe_type(self) -> str:
        """Human-readable type with bounds, for help text, errors and the editor."""
        text = {Kind.STR_LIST: "list of strings", Kind.JSON: "JSON object"}.get(self.kind, self.kind.value)
        if self.kind is Kind.ENUM:
            text = "one of " + ", ".join(self.choices)
        if self.minimum is not None or self.maximum is not None:
            lo = "" if self.minimum is None else _num(self.minimum)
            hi = "" if self.maximum is None else _num(self.maximum)
            op = "<" if self.exclusive_minimum else "≤"
            if lo and hi:
                text += f", {lo} {op} x ≤ {hi}"
            elif lo:
                text += f", x {'>' if self.exclusive_minimum else '≥'} {lo}"
            else:
                text += f", x ≤ {hi}"
        if self.max_length is not None:
            text += f", {self.min_length or 0}…{self.max_length} chars"
        if self.nullable:
            text += " or null"
        return text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
