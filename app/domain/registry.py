"""The registry: every setting key, declared once — its type, bounds, default, the
scopes it may be stored in, its legacy names — and the lookups by name and scope.
The validation of values against a definition is in app/domain/values.py.

Pure code: no I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.scopes import Scope, ScopeType

# A stored value is JSON; this caps one value's encoded size (system_prompt's 64 KiB
# plus JSON quoting and escapes) so one key cannot bloat every process's memory.
MAX_VALUE_BYTES = 160 * 1024
# Upper bounds of counts and durations no deployment needs more of: a bound keeps a
# typo (or 10^30) from being stored and breaking whatever reads the key.
_COUNT = 1_000_000
_DAY = 86_400
_YEAR = 365 * _DAY


class Kind(StrEnum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    ENUM = "enum"
    STR_LIST = "str_list"
    JSON = "json"  # a JSON object


class Category(StrEnum):
    TUNABLE = "tunable"
    PROFILE = "profile"
    INFRA = "infra"
    SECRET = "secret"


WRITABLE = frozenset({Category.TUNABLE, Category.PROFILE})
BOTH = frozenset({ScopeType.GLOBAL, ScopeType.BOT})
BOT_ONLY = frozenset({ScopeType.BOT})
GLOBAL_ONLY = frozenset({ScopeType.GLOBAL})

# Marker default: the bot's slug, capitalised (the platform's rule for `name`).
SLUG_TITLE = "<slug, capitalised>"


class SettingDef(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    kind: Kind
    default: Any
    category: Category = Category.TUNABLE
    scopes: frozenset[ScopeType] = BOTH
    area: str = "general"
    description: str = ""
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    min_length: int | None = None
    max_length: int | None = None  # characters for str
    choices: tuple[str, ...] = ()
    nullable: bool = False
    env: tuple[str, ...] = ()  # environment variables read for the env layer, first wins
    legacy: tuple[str, ...] = ()  # old key names mapped to this one

    @property
    def writable(self) -> bool:
        return self.category in WRITABLE

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


def _tunable(key: str, kind: Kind, default: Any, area: str, description: str = "", *,
             env: bool = True, legacy_env: tuple[str, ...] = (), **kw: Any) -> SettingDef:
    names = ((f"LLM_BAWT_{key.upper()}",) if env else ()) + legacy_env
    return SettingDef(key=key, kind=kind, default=default, area=area, description=description,
                      env=names, **kw)


def _profile(key: str, kind: Kind, default: Any, description: str, **kw: Any) -> SettingDef:
    return SettingDef(key=key, kind=kind, default=default, category=Category.PROFILE,
                      scopes=BOT_ONLY, area="profile", description=description, **kw)


def _environment_only(key: str, category: Category, env: str, description: str) -> SettingDef:
    return SettingDef(key=key, kind=Kind.STR, default=None, category=category, scopes=frozenset(),
                      area="environment", description=description, env=(env,), nullable=True)


I, F, B, S = Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.STR  # noqa: E741 (table shorthand)
_DEFS: list[SettingDef] = [
    # context
    _tunable("max_context_tokens", I, 0, "context", "prompt budget (system + history + memory); "
             "0 = model_context_window − max_output_tokens", minimum=0, maximum=10_000_000, unit="tokens"),
    _tunable("max_output_tokens", I, 4096, "context", "tokens the model may generate per reply",
             minimum=1, maximum=1_000_000, unit="tokens", legacy_env=("LLM_BAWT_MAX_TOKENS",),
             legacy=("max_tokens",)),
    _tunable("model_context_window", I, 128000, "context", "used when max_context_tokens is 0",
             minimum=512, maximum=10_000_000, unit="tokens"),
    # history
    _tunable("history_duration_seconds", I, 1800, "history", "how far back raw history is loaded",
             minimum=0, maximum=_YEAR, unit="seconds", legacy_env=("LLM_BAWT_HISTORY_DURATION",),
             legacy=("history_duration",)),
    _tunable("history_bridge_messages", I, 4, "history",
             "most recent messages always kept, even beyond the window", minimum=0, maximum=1000,
             unit="messages"),
    _tunable("history_reload_ttl_seconds", F, 2.0, "history", "history cache freshness",
             minimum=0, maximum=_DAY, unit="seconds"),
    # summarization
    _tunable("summarization_session_gap_seconds", I, 3600, "summarization",
             "gap that splits history into sessions", minimum=1, maximum=_YEAR, unit="seconds"),
    _tunable("summarization_min_messages", I, 4, "summarization",
             "messages a session needs to be summarized", minimum=1, maximum=_COUNT),
    _tunable("summarization_skip_low_signal", B, True, "summarization",
             "skip greetings, tests and noise"),
    _tunable("summarization_min_user_messages", I, 2, "summarization",
             "user messages a session needs to be summarized", minimum=0, maximum=_COUNT),
    _tunable("summarization_min_content_chars", I, 160, "summarization",
             "characters of content a session needs to be summarized", minimum=0,
             maximum=10_000_000),
    _tunable("summarization_min_meaningful_turns", I, 3, "summarization",
             "meaningful turns a session needs to be summarized", minimum=0, maximum=_COUNT),
    _tunable("summarization_max_in_context", I, 5, "summarization",
             "past-session summaries in the prompt (0 = none)", minimum=0, maximum=1000),
    _tunable("summarization_compact_context", B, True, "summarization", "shorter summary form"),
    _tunable("summarization_batch_size", I, 5, "summarization", "sessions summarized per batch",
             minimum=1, maximum=1000),
    _tunable("summarization_batch_concurrency", I, 3, "summarization",
             "batches summarized at once", minimum=1, maximum=64),
    # memory
    _tunable("memory_n_results", I, 10, "memory", "memory hits retrieved on cold start",
             minimum=0, maximum=1000),
    _tunable("memory_protected_recent_turns", I, 3, "memory",
             "recent turns never evicted when trimming", minimum=0, maximum=_COUNT,
             unit="turns"),
    _tunable("memory_min_relevance", F, 0.01, "memory", "lowest relevance a memory hit may have",
             minimum=0, maximum=1),
    _tunable("memory_max_token_percent", I, 30, "memory", "share of the budget memory may take",
             minimum=0, maximum=100, unit="%"),
    _tunable("memory_dedup_similarity", F, 0.85, "memory",
             "similarity above which memory hits are duplicates", minimum=0, maximum=1),
    # generation
    _tunable("temperature", F, 0.8, "generation", "sampling temperature", minimum=0, maximum=2),
    _tunable("top_p", F, 0.95, "generation", "nucleus sampling mass", minimum=0, maximum=1,
             exclusive_minimum=True),
    _tunable("max_tool_calls_per_turn", I, 10, "generation", "tool calls allowed per turn",
             minimum=0, maximum=100),
    # search
    _tunable("search_max_results", I, 5, "search", "web search results per query",
             minimum=1, maximum=100),
    _tunable("search_timeout", I, 10, "search", "web search timeout", minimum=1, maximum=600,
             unit="seconds"),
    _tunable("search_include_answer", B, False, "search", "ask the search provider for an answer"),
    _tunable("search_depth", Kind.ENUM, "basic", "search", "search provider depth",
             choices=("basic", "advanced")),
    # maintenance
    _tunable("history_summarization_interval_minutes", I, 30, "maintenance",
             "per-bot history summarization job interval", minimum=1, maximum=10080, unit="minutes"),
    _tunable("profile_maintenance_interval_minutes", I, 60, "maintenance",
             "profile maintenance job interval", minimum=1, maximum=10080, unit="minutes",
             scopes=GLOBAL_ONLY),
    _tunable("maintenance_model", S, "", "maintenance", "\"\" = the bot's default model",
             max_length=255),
    _tunable("summarization_model", S, "dolphin-qwen-3b", "maintenance",
             "\"\" = maintenance_model", max_length=255),
    _tunable("profile_maintenance_model", S, "", "maintenance", "\"\" = maintenance_model",
             max_length=255),
    _tunable("extraction_model", S, None, "maintenance", "null = maintenance_model",
             max_length=255, nullable=True),
    # the chat gateway's conversations (ours, not the platform's: no environment variable)
    _tunable("conversation_pin_idle_seconds", I, _DAY, "gateway",
             "a conversation's pinned revision expires after this long unused", env=False,
             minimum=1, maximum=_YEAR, unit="seconds", scopes=GLOBAL_ONLY),
    _tunable("conversation_pin_max_age_seconds", I, 7 * _DAY, "gateway",
             "a pin to a bot's settings replaced longer ago than this is refused", env=False,
             minimum=1, maximum=10 * _YEAR, unit="seconds", scopes=GLOBAL_ONLY),
    # profile (bot scope only)
    _profile("name", S, SLUG_TITLE, "display name", min_length=1, max_length=255),
    _profile("description", S, "", "what the bot is for", max_length=4096),
    _profile("system_prompt", S, "", "the bot's system prompt", max_length=65536),
    # Whether a chat request's own system message replaces this one (see docs/gateway.md).
    _profile("allow_request_system_prompt", B, False,
             "a chat request's own system message replaces the bot's system prompt (else it is dropped)"),
    _profile("requires_memory", B, True, "the bot uses long-term memory"),
    _profile("voice_optimized", B, False, "replies are written to be spoken"),
    _profile("uses_tools", B, False, "the bot may call tools"),
    _profile("uses_search", B, False, "the bot may search the web"),
    _profile("uses_home_assistant", B, False, "the bot may use Home Assistant"),
    _profile("default_model", S, None, "model used unless a request names an allowed one",
             max_length=255, nullable=True),
    _profile("nextcloud", Kind.JSON, None, "Nextcloud Talk integration block", nullable=True),
    # infrastructure and secrets: known so that writes of them get a clear refusal
    _environment_only("database_url", Category.INFRA, "DATABASE_URL", "database connection"),
    *(_environment_only(f"postgres_{p}", Category.SECRET if p == "password" else Category.INFRA,
                        f"LLM_BAWT_POSTGRES_{p.upper()}", f"database {p}")
      for p in ("host", "port", "user", "password", "database")),
    _environment_only("host", Category.INFRA, "BOTSETTINGS_HOST", "service bind address"),
    _environment_only("port", Category.INFRA, "BOTSETTINGS_PORT", "service port"),
    _environment_only("upstream_url", Category.INFRA, "BOTSETTINGS_UPSTREAM_URL",
                      "upstream model server"),
    _environment_only("upstream_api_key", Category.SECRET, "BOTSETTINGS_UPSTREAM_API_KEY",
                      "upstream model server key"),
    *(_environment_only(name.lower(), Category.SECRET, name, "credential")
      for name in ("XAI_API_KEY", "TAVILY_API_KEY", "BRAVE_API_KEY", "NEXTCLOUD_BOT_SECRET",
                   "TALK_PROVISIONER_TOKEN", "HA_MCP_AUTH_TOKEN")),
]
del I, F, B, S

REGISTRY: dict[str, SettingDef] = {d.key: d for d in _DEFS}
LEGACY_NAMES: dict[str, str] = {old: d.key for d in _DEFS for old in d.legacy}
WRITABLE_KEYS: tuple[str, ...] = tuple(d.key for d in _DEFS if d.writable)
# Operators often write an environment-only setting by its variable name
# (`DATABASE_URL`, `XAI_API_KEY`); those get the same refusal as the key itself.
ENV_ONLY_BY_VARIABLE: dict[str, SettingDef] = {
    name: d for d in _DEFS if not d.writable for name in d.env}


def canonical_key(name: str) -> tuple[str, str | None]:
    """Map a legacy name to its canonical key; returns (key, warning or None)."""
    new = LEGACY_NAMES.get(name)
    if new is None:
        return name, None
    return new, f"'{name}' is a legacy name; it was read as '{new}'"


def keys_for(scope_type: ScopeType) -> list[SettingDef]:
    """Every writable key that may be stored in a scope of this type, in registry order."""
    return [d for d in _DEFS if d.writable and scope_type in d.scopes]


def lookup_writable(key: str, scope: Scope) -> SettingDef:
    """The definition of a key that may be written in ``scope``, or ValidationFailed."""
    defn = REGISTRY.get(key) or ENV_ONLY_BY_VARIABLE.get(key)
    if defn is None:
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
