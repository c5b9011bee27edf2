"""The built-in registry ships the platform's current keys with the platform's own
defaults. Each line is a fact read from the platform's setting definitions and its
configuration (llm-bawt v0.1.24), written out here: the platform's code is not imported."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.registry import BUILTIN, LEGACY_NAMES, canonical_key, upcast
from app.domain.registry_types import PLATFORM_TYPE, UNSET

ALL, AGENT, CHAT, GLOBAL_ONLY = ("chat", "agent"), ("agent",), ("chat",), ()
JOB = {"session_gap_seconds": 3600, "min_messages_per_session": 2, "protected_recent_turns": 3,
       "trigger_tokens": 12000, "model": None}

# key, the platform's type name, default, applies_to, legacy names it maps
PLATFORM_DEFINITIONS: list[tuple[str, str, Any, tuple[str, ...], tuple[str, ...]]] = [
    ("session_memory_continuity", "bool", True, ALL, ("seed_summary_on_new_session",)),
    ("history_scope", "str", "inline+summaries", ALL, ()),
    ("history_tokens", "int", 12000, ALL, ("max_context_tokens",)),
    ("history_max_age_hours", "int", 0, ALL, ()),
    ("summary_count", "int", 5, ALL, ("summarization_max_in_context",)),
    ("seed_message_max_chars", "int", 3000, ALL, ()),
    ("compact_context", "bool", True, ALL, ("summarization_compact_context",)),
    ("agent_global_prompt_enabled", "bool", False, AGENT, ()),
    ("claude_code_disallowed_tools", "string_list",
     ["EnterPlanMode", "ExitPlanMode", "EnterWorktree", "ExitWorktree"], AGENT, ()),
    ("agent_context_warning_percent", "int", 75, AGENT, ()),
    ("agent_context_critical_percent", "int", 90, AGENT, ()),
    ("agent_context_critical_policy", "str", "reset_retain_history", AGENT, ()),
    ("bot_send_wait_seconds", "int", 300, GLOBAL_ONLY, ()),
    ("timeout_seconds", "int", None, AGENT, ()),
    ("session_model", "str", None, AGENT, ()),
    ("session_key", "str", None, AGENT, ()),
    ("include_summaries", "bool", True, CHAT, ()),
    ("maintenance_model", "str", "dolphin-qwen-3b", ALL, ("MAINTENANCE_MODEL",)),
    ("extraction_model", "str", None, ALL, ("EXTRACTION_MODEL",)),
    ("profile_maintenance_model", "str", None, ALL, ("PROFILE_MAINTENANCE_MODEL",)),
    ("subagent_model", "str", None, AGENT, ()),
    ("model_context_window_default", "int", 128000, ALL, ("model_context_window",)),
    ("max_output_tokens", "int", 4096, ALL, ("max_tokens",)),
    ("request_output_reserve", "int", 4096, GLOBAL_ONLY, ()),
    ("summarization_job", "json", JOB, GLOBAL_ONLY, ()),
]

# Seed-era keys the platform still reads, with its defaults (its tunables and Config fields).
PLATFORM_SEED_DEFAULTS: list[tuple[str, Any]] = [
    ("history_reload_ttl_seconds", 2.0), ("memory_n_results", 10), ("memory_min_relevance", 0.01),
    ("memory_dedup_similarity", 0.85), ("temperature", 0.8), ("top_p", 0.95), ("max_tool_calls_per_turn", 20),
    ("search_max_results", 5), ("search_timeout", 10), ("search_include_answer", False), ("search_depth", "basic"),
    ("summarization_batch_size", 5), ("summarization_batch_concurrency", 3),
    ("history_summarization_interval_minutes", 30), ("profile_maintenance_interval_minutes", 60),
]


@pytest.mark.parametrize(("key", "type_name", "default", "applies_to", "legacy"), PLATFORM_DEFINITIONS)
def test_every_platform_definition_is_built_in_with_its_default(
        key: str, type_name: str, default: Any, applies_to: tuple[str, ...], legacy: tuple[str, ...]) -> None:
    defn = BUILTIN.defs[key]
    assert PLATFORM_TYPE[defn.kind] == type_name
    assert defn.default == default
    assert defn.applies_to == applies_to
    assert defn.label, "the platform gives every key a label"
    for old in legacy:
        assert LEGACY_NAMES[old] == key


@pytest.mark.parametrize(("key", "default"), PLATFORM_SEED_DEFAULTS)
def test_seed_era_keys_the_platform_still_reads_keep_its_defaults(key: str, default: Any) -> None:
    assert BUILTIN.defs[key].default == default


def test_global_only_keys_cannot_be_stored_for_a_bot() -> None:
    from app.domain.scopes import ScopeType
    for key in ("bot_send_wait_seconds", "request_output_reserve", "summarization_job"):
        assert BUILTIN.defs[key].scopes == {ScopeType.GLOBAL}


def test_renamed_keys_carry_their_values_over_through_their_transform() -> None:
    assert upcast("max_context_tokens", 64000) == ("history_tokens", 64000)
    assert upcast("max_context_tokens", 0) == ("history_tokens", UNSET)  # the old 0 = auto is gone
    assert upcast("summarization_max_in_context", 0) == ("summary_count", 0)
    assert upcast("temperature", 0.5) == ("temperature", 0.5)
    assert canonical_key("model_context_window")[0] == "model_context_window_default"
