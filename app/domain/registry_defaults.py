"""The built-in registry: the platform's current keys, shipped with botsettings.

This is the base layer of the registry (app/domain/registry.py): the key definitions
of the platform's own setting definitions (name, type, default, the bot types a key
applies to, where the platform stores it, label, legacy names), plus the keys of the
seed era that the platform or botsettings' own gateway and jobs still read.
Definitions recorded in the log (`botsettings keys define`) override or extend it.

Every default here equals the platform's own default; tests/unit/test_registry_defaults.py
writes each one out as a fact. Pure code: no I/O.
"""

from __future__ import annotations

from typing import Any

from app.domain.registry_types import (
    BOT_ONLY,
    CHAT_AND_AGENT,
    GLOBAL_ONLY,
    SLUG_TITLE,
    Category,
    Kind,
    SettingDef,
    Storage,
)

_COUNT = 1_000_000
_DAY = 86_400
_YEAR = 365 * _DAY
AGENT = ("agent",)
CHAT = ("chat",)

# The platform's default of its global summarization-job parameters (one JSON object).
SUMMARIZATION_JOB_DEFAULT: dict[str, Any] = {
    "session_gap_seconds": 3600, "min_messages_per_session": 2, "protected_recent_turns": 3,
    "trigger_tokens": 12000, "model": None,
}
# Keys the seed-era platform client still sends (its `--settings-bootstrap`) whose
# concept the platform dropped, with why: a write of one is accepted and ignored with
# a warning naming it (nothing stored), so a seed-era batch lands instead of being
# refused whole (docs/keys.md, "Seed-era keys").
DROPPED_SEED_KEYS: dict[str, str] = {
    "max_context_messages": "the platform dropped its cap on raw history messages (0 = no cap, which is how "
                            "it behaves now); raw history is bounded by history_tokens",
}
CLAUDE_CODE_DISALLOWED_DEFAULT = ["EnterPlanMode", "ExitPlanMode", "EnterWorktree", "ExitWorktree"]


def _tunable(key: str, kind: Kind, default: Any, area: str, description: str = "", *,
             env: bool = True, legacy_env: tuple[str, ...] = (), **kw: Any) -> SettingDef:
    names = ((f"LLM_BAWT_{key.upper()}",) if env else ()) + legacy_env
    return SettingDef(key=key, kind=kind, default=default, area=area, description=description,
                      env=names, **kw)


def _platform(key: str, kind: Kind, default: Any, area: str, label: str, description: str, *,
              applies_to: tuple[str, ...] = CHAT_AND_AGENT, **kw: Any) -> SettingDef:
    """A key of the platform's typed definitions; applies_to () means global-only. Its
    environment variable is botsettings' (the platform reads these from its settings only)."""
    kw.setdefault("env", (f"LLM_BAWT_{key.upper()}",))
    if not applies_to:
        kw.setdefault("scopes", GLOBAL_ONLY)
    return SettingDef(key=key, kind=kind, default=default, area=area, label=label,
                      description=description, applies_to=applies_to, **kw)


def _profile(key: str, kind: Kind, default: Any, description: str, **kw: Any) -> SettingDef:
    kw.setdefault("storage", Storage.BOT_COLUMN)
    return SettingDef(key=key, kind=kind, default=default, category=Category.PROFILE,
                      scopes=BOT_ONLY, area="profile", description=description, **kw)


def _environment_only(key: str, category: Category, env: str, description: str) -> SettingDef:
    return SettingDef(key=key, kind=Kind.STR, default=None, category=category, scopes=frozenset(),
                      area="environment", description=description, env=(env,), nullable=True,
                      applies_to=(), storage=Storage.ENVIRONMENT)


I, F, B, S = Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.STR  # noqa: E741 (table shorthand)
DEFAULT_DEFINITIONS: list[SettingDef] = [
    # context: the platform's tiers (total budget from the window, raw-history bucket)
    _platform("history_tokens", I, 12000, "context", "Raw history token budget",
              "tokens of recent raw conversation carried in the prompt (never 0 = fill the window)",
              minimum=1, maximum=10_000_000, unit="tokens", legacy=("max_context_tokens",),
              upcasts=(("max_context_tokens", "positive_or_unset"),)),
    _platform("history_max_age_hours", I, 0, "context", "Raw history max age (hours)",
              "raw history older than this is left out (0 = no age limit); summaries are unaffected",
              minimum=0, maximum=24 * 3650, unit="hours"),
    _platform("history_scope", Kind.ENUM, "inline+summaries", "context", "History scope",
              "which prior context is carried: recent messages, rolling summaries, both, or nothing",
              choices=("inline+summaries", "inline", "summaries", "none"),
              legacy_keys=("include_summaries",)),
    _platform("session_memory_continuity", B, True, "context", "Carry prior conversation into context",
              "master gate mirroring history_scope (true unless history_scope is none)",
              legacy=("seed_summary_on_new_session",), legacy_keys=("include_summaries",)),
    _platform("summary_count", I, 5, "context", "Summaries in context",
              "rolling summaries injected into the prompt (0 = none)", minimum=0, maximum=1000,
              legacy=("summarization_max_in_context",)),
    _platform("seed_message_max_chars", I, 3000, "context", "Seed per-message char cap",
              "characters one message may take in a fresh session's seed (0 = no cap)",
              minimum=0, maximum=10_000_000, unit="characters"),
    _platform("compact_context", B, True, "context", "Compact summary form",
              "the shorter summary form in the prompt", legacy=("summarization_compact_context",)),
    _platform("model_context_window_default", I, 128000, "context", "Default model context window",
              "context window used when the model catalogue has none for a model",
              minimum=512, maximum=10_000_000, unit="tokens", legacy=("model_context_window",)),
    _platform("max_output_tokens", I, 4096, "context", "Max output tokens",
              "tokens the model may generate per reply (the request's output cap)",
              minimum=1, maximum=1_000_000, unit="tokens", legacy=("max_tokens",),
              env=("LLM_BAWT_MAX_OUTPUT_TOKENS", "LLM_BAWT_MAX_TOKENS")),
    _platform("request_output_reserve", I, 4096, "context", "Request output reserve",
              "tokens held back from the window for the reply: prompt budget = window − "
              "min(reserve, max_output_tokens)", applies_to=(), minimum=0, maximum=1_000_000, unit="tokens"),
    _platform("include_summaries", B, True, "context", "Include summaries",
              "chat bots: include summary rows when assembling history (superseded by "
              "session_memory_continuity)", applies_to=CHAT, storage=Storage.REQUEST_FLAG),
    # agent bots
    _platform("agent_global_prompt_enabled", B, False, "agent", "Inject shared agent global prompt",
              "agent bots: put the shared agents.global_prompt block in the system prompt",
              applies_to=AGENT),
    _platform("claude_code_disallowed_tools", Kind.STR_LIST, CLAUDE_CODE_DISALLOWED_DEFAULT, "agent",
              "Claude Code disabled SDK tools", "tool names withheld from every Claude Code turn",
              applies_to=AGENT),
    _platform("agent_context_warning_percent", I, 75, "agent", "Agent context warning (%)",
              "resident prompt share that marks context health as warning", applies_to=AGENT,
              minimum=0, maximum=100, unit="%"),
    _platform("agent_context_critical_percent", I, 90, "agent", "Agent context critical (%)",
              "resident prompt share that triggers maintenance before autonomous delivery",
              applies_to=AGENT, minimum=0, maximum=100, unit="%"),
    _platform("agent_context_critical_policy", S, "reset_retain_history", "agent",
              "Agent critical-context action", "what is done when an agent's context is critical",
              applies_to=AGENT, max_length=255),
    _platform("timeout_seconds", I, None, "agent", "Agent turn timeout (s)",
              "longest one agent turn may run (null = the backend's own)", applies_to=AGENT,
              nullable=True, minimum=1, maximum=_DAY, unit="seconds"),
    _platform("session_model", S, None, "agent", "Session model (raw SDK id)",
              "the backend's own model id the agent session runs", applies_to=AGENT, nullable=True,
              max_length=255),
    _platform("session_key", S, None, "agent", "Session key",
              "an agent's stable session identity (not a tunable)", applies_to=AGENT, nullable=True,
              max_length=255, scopes=BOT_ONLY, storage=Storage.AGENT_BACKEND_CONFIG),
    _platform("subagent_model", S, None, "agent", "Subagent / background model",
              "model of an agent's subagents and background tasks behind the proxy (null = the bot's model)",
              applies_to=AGENT, nullable=True, max_length=255, ui_widget="model",
              storage=Storage.AGENT_BACKEND_CONFIG),
    _platform("bot_send_wait_seconds", I, 300, "agent", "Synchronous bot reply wait (s)",
              "longest wait for a bot-to-bot message answered synchronously", applies_to=(),
              minimum=1, maximum=_DAY, unit="seconds"),
    # background jobs
    _platform("maintenance_model", S, "dolphin-qwen-3b", "maintenance", "Default job model (all jobs)",
              "model of every background job that has none of its own", max_length=255,
              legacy=("MAINTENANCE_MODEL",), ui_widget="model"),
    _platform("extraction_model", S, None, "maintenance", "Memory extraction model",
              "model of the memory-extraction job (null = maintenance_model)", nullable=True,
              max_length=255, legacy=("EXTRACTION_MODEL",), ui_widget="model"),
    _platform("profile_maintenance_model", S, None, "maintenance", "Profile maintenance model",
              "model of the profile-maintenance job (null = maintenance_model)", nullable=True,
              max_length=255, legacy=("PROFILE_MAINTENANCE_MODEL",), ui_widget="model"),
    _platform("summarization_job", Kind.JSON, SUMMARIZATION_JOB_DEFAULT, "maintenance",
              "Summarization job parameters",
              "the platform's offline-summarization parameters as one object (session_gap_seconds, "
              "min_messages_per_session, protected_recent_turns, trigger_tokens, model)", applies_to=(),
              legacy_keys=("summarization_session_gap_seconds", "summarization_min_messages_per_session",
                           "summarization_min_messages", "memory_protected_recent_turns",
                           "summarization_trigger_tokens", "summarization_model")),
    # seed-era keys the platform still reads (its RuntimeTunables and Config fields)
    _tunable("history_reload_ttl_seconds", F, 2.0, "history", "history cache freshness",
             minimum=0, maximum=_DAY, unit="seconds"),
    _tunable("memory_n_results", I, 10, "memory", "memory hits retrieved on cold start",
             minimum=0, maximum=1000),
    _tunable("memory_min_relevance", F, 0.01, "memory", "lowest relevance a memory hit may have",
             minimum=0, maximum=1),
    _tunable("memory_dedup_similarity", F, 0.85, "memory",
             "similarity above which memory hits are duplicates", minimum=0, maximum=1),
    _tunable("temperature", F, 0.8, "generation", "sampling temperature", minimum=0, maximum=2),
    _tunable("top_p", F, 0.95, "generation", "nucleus sampling mass", minimum=0, maximum=1,
             exclusive_minimum=True),
    _tunable("max_tool_calls_per_turn", I, 20, "generation", "tool calls allowed per turn (0 = unlimited)",
             minimum=0, maximum=100),
    _tunable("search_max_results", I, 5, "search", "web search results per query",
             minimum=1, maximum=100),
    _tunable("search_timeout", I, 10, "search", "web search timeout", minimum=1, maximum=600,
             unit="seconds"),
    _tunable("search_include_answer", B, False, "search", "ask the search provider for an answer"),
    _tunable("search_depth", Kind.ENUM, "basic", "search", "search provider depth",
             choices=("basic", "advanced")),
    _tunable("summarization_batch_size", I, 5, "summarization", "sessions summarized per batch",
             minimum=1, maximum=1000),
    _tunable("summarization_batch_concurrency", I, 3, "summarization",
             "batches summarized at once", minimum=1, maximum=64),
    _tunable("history_summarization_interval_minutes", I, 30, "maintenance",
             "per-bot history summarization job interval", minimum=1, maximum=10080, unit="minutes"),
    _tunable("profile_maintenance_interval_minutes", I, 60, "maintenance",
             "profile maintenance job interval", minimum=1, maximum=10080, unit="minutes",
             scopes=GLOBAL_ONLY, applies_to=()),
    # the chat gateway's conversations (ours, not the platform's: no environment variable)
    _tunable("conversation_pin_idle_seconds", I, _DAY, "gateway",
             "a conversation's pinned revision expires after this long unused", env=False,
             minimum=1, maximum=_YEAR, unit="seconds", scopes=GLOBAL_ONLY, applies_to=()),
    _tunable("conversation_pin_max_age_seconds", I, 7 * _DAY, "gateway",
             "a pin to a bot's settings replaced longer ago than this is refused", env=False,
             minimum=1, maximum=10 * _YEAR, unit="seconds", scopes=GLOBAL_ONLY, applies_to=()),
    # seed-era keys botsettings' own gateway and job catalogue read (docs/settings.md)
    _tunable("history_duration_seconds", I, 1800, "history", "how far back raw history is loaded",
             minimum=0, maximum=_YEAR, unit="seconds", legacy_env=("LLM_BAWT_HISTORY_DURATION",),
             legacy=("history_duration",)),
    _tunable("history_bridge_messages", I, 4, "history",
             "most recent messages always kept, even beyond the window", minimum=0, maximum=1000,
             unit="messages"),
    _tunable("summarization_session_gap_seconds", I, 3600, "summarization",
             "gap that splits history into sessions", minimum=1, maximum=_YEAR, unit="seconds"),
    _tunable("summarization_min_messages", I, 2, "summarization",
             "messages a session needs to be summarized", minimum=1, maximum=_COUNT,
             legacy=("summarization_min_messages_per_session",)),
    _tunable("summarization_skip_low_signal", B, True, "summarization",
             "skip greetings, tests and noise"),
    _tunable("summarization_min_user_messages", I, 2, "summarization",
             "user messages a session needs to be summarized", minimum=0, maximum=_COUNT),
    _tunable("summarization_min_content_chars", I, 160, "summarization",
             "characters of content a session needs to be summarized", minimum=0,
             maximum=10_000_000),
    _tunable("summarization_min_meaningful_turns", I, 3, "summarization",
             "meaningful turns a session needs to be summarized", minimum=0, maximum=_COUNT),
    _tunable("memory_protected_recent_turns", I, 3, "memory",
             "recent turns never evicted when trimming", minimum=0, maximum=_COUNT,
             unit="turns"),
    _tunable("memory_max_token_percent", I, 30, "memory", "share of the budget memory may take",
             minimum=0, maximum=100, unit="%"),
    _tunable("summarization_model", S, None, "maintenance", "null = maintenance_model",
             max_length=255, nullable=True),
    # profile (bot scope only): the platform's bot_profiles columns
    _profile("name", S, SLUG_TITLE, "display name", min_length=1, max_length=255),
    _profile("description", S, "", "what the bot is for", max_length=4096),
    _profile("system_prompt", S, "", "the bot's system prompt", max_length=65536),
    _profile("bot_type", Kind.ENUM, None, "chat or agent: which keys apply to the bot (null = chat)",
             choices=("chat", "agent"), nullable=True),
    # Whether a chat request's own system message replaces this one (see docs/gateway.md).
    _profile("allow_request_system_prompt", B, False,
             "a chat request's own system message replaces the bot's system prompt (else it is dropped)",
             storage=Storage.BOTSETTINGS),
    _profile("requires_memory", B, True, "the bot uses long-term memory"),
    _profile("voice_optimized", B, False, "replies are written to be spoken"),
    _profile("uses_tools", B, False, "the bot may call tools"),
    _profile("uses_search", B, False, "the bot may search the web"),
    _profile("uses_home_assistant", B, False, "the bot may use Home Assistant"),
    _profile("default_model", S, None, "model used unless a request names an allowed one",
             max_length=255, nullable=True, ui_widget="model"),
    _profile("nextcloud", Kind.JSON, None, "Nextcloud Talk integration block", nullable=True),
    # The platform's profile fields without a key of their own (color, avatar, …), kept as sent.
    _profile("extra", Kind.JSON, None, "profile fields of the platform without a setting of their own, kept as sent",
             nullable=True),
    # The platform's defaults (its DEFAULT_BOT and DEFAULT_MODEL_ALIAS; bots.yaml `defaults.standard`).
    _tunable("default_bot", S, None, "defaults", "bot used when a request names none (the platform's is nova)",
             max_length=64, nullable=True, scopes=GLOBAL_ONLY, applies_to=()),
    _tunable("default_model_alias", S, None, "defaults", "model of a bot whose default_model is null",
             max_length=255, nullable=True, scopes=GLOBAL_ONLY, applies_to=()),
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
