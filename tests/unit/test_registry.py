"""The registry: the key inventory (docs/settings.md) and the validation rules (no database)."""

from __future__ import annotations

import pytest

from app.domain import scopes
from app.domain.errors import ValidationFailed
from app.domain.registry import (
    MAX_VALUE_BYTES,
    REGISTRY,
    Category,
    Kind,
    canonical_key,
    keys_for,
    lookup_writable,
)
from app.domain.scopes import ScopeType
from app.domain.values import parse_text, validate_items, validate_value

MIRA = scopes.bot("mira")

# (key, kind, default) of the keys botsettings adds to the platform's (its gateway's and
# its job catalogue's, and the profile columns); the platform's own keys are in
# tests/unit/test_registry_defaults.py. Written out by hand so a change is deliberate.
INVENTORY = [
    ("history_duration_seconds", Kind.INT, 1800), ("history_bridge_messages", Kind.INT, 4),
    ("summarization_session_gap_seconds", Kind.INT, 3600), ("summarization_min_messages", Kind.INT, 2),
    ("summarization_skip_low_signal", Kind.BOOL, True), ("summarization_min_user_messages", Kind.INT, 2),
    ("summarization_min_content_chars", Kind.INT, 160), ("summarization_min_meaningful_turns", Kind.INT, 3),
    ("memory_protected_recent_turns", Kind.INT, 3), ("memory_max_token_percent", Kind.INT, 30),
    ("summarization_model", Kind.STR, None), ("description", Kind.STR, ""), ("system_prompt", Kind.STR, ""),
    ("requires_memory", Kind.BOOL, True), ("voice_optimized", Kind.BOOL, False), ("uses_tools", Kind.BOOL, False),
    ("uses_search", Kind.BOOL, False), ("uses_home_assistant", Kind.BOOL, False),
    ("default_model", Kind.STR, None), ("nextcloud", Kind.JSON, None), ("bot_type", Kind.ENUM, None),
    ("allow_request_system_prompt", Kind.BOOL, False),  # ours (issue 7): the chat gateway's rule
]


@pytest.mark.parametrize(("key", "kind", "default"), INVENTORY)
def test_registry_holds_every_key_of_the_inventory(key: str, kind: Kind, default: object) -> None:
    defn = REGISTRY[key]
    assert defn.kind is kind
    assert defn.default == default
    assert defn.description


def test_profile_keys_are_bot_only_and_name_defaults_to_the_capitalised_slug() -> None:
    for key in ("name", "description", "system_prompt", "uses_tools", "default_model", "nextcloud",
                "allow_request_system_prompt"):
        assert REGISTRY[key].category is Category.PROFILE
        assert REGISTRY[key].scopes == {ScopeType.BOT}
    assert REGISTRY["name"].default_for("mira") == "Mira"
    assert "name" not in {d.key for d in keys_for(ScopeType.GLOBAL)}


def test_env_names_follow_the_platform_and_keep_legacy_names() -> None:
    assert REGISTRY["temperature"].env == ("LLM_BAWT_TEMPERATURE",)
    assert REGISTRY["max_output_tokens"].env == ("LLM_BAWT_MAX_OUTPUT_TOKENS", "LLM_BAWT_MAX_TOKENS")
    assert "LLM_BAWT_HISTORY_DURATION" in REGISTRY["history_duration_seconds"].env
    assert canonical_key("max_tokens") == ("max_output_tokens", "'max_tokens' is a legacy name; it was read as "
                                           "'max_output_tokens'")
    assert canonical_key("temperature") == ("temperature", None)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("temperature", 1, 1.0), ("temperature", 0, 0.0), ("temperature", 2, 2.0), ("max_output_tokens", 1, 1),
    ("max_output_tokens", 512.0, 512), ("search_depth", "advanced", "advanced"), ("extraction_model", None, None),
    ("nextcloud", {"room": "x"}, {"room": "x"}), ("top_p", 1, 1.0), ("summarization_skip_low_signal", False, False),
])
def test_valid_values_are_normalised_to_the_key_type(key: str, value: object, expected: object) -> None:
    result = validate_value(REGISTRY[key], value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("temperature", 2.5, "out of bounds"), ("temperature", -0.1, "out of bounds"),
    ("temperature", "hot", "expected a number"), ("temperature", True, "expected a number"),
    ("temperature", float("nan"), "finite"), ("top_p", 0, "out of bounds"),
    ("max_output_tokens", 0, "out of bounds"), ("max_output_tokens", 1.5, "expected an integer"),
    ("max_output_tokens", True, "expected an integer"), ("history_bridge_messages", 1001, "out of bounds"),
    ("search_depth", "deep", "not one of basic, advanced"), ("uses_tools", "yes", "expected true or false"),
    ("name", "", "at least 1"), ("name", "x" * 256, "limit is 255"), ("temperature", None, "null is not allowed"),
    ("nextcloud", [1], "expected a JSON object"), ("system_prompt", "x" * 65537, "limit is 65536"),
])
def test_invalid_values_are_refused_naming_the_key(key: str, value: object, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_value(REGISTRY[key], value)
    assert exc.value.errors[0].key == key
    assert fragment in exc.value.message


def test_json_values_have_a_size_limit() -> None:
    with pytest.raises(ValidationFailed, match="bytes encoded"):
        validate_value(REGISTRY["nextcloud"], {"blob": "x" * MAX_VALUE_BYTES})


@pytest.mark.parametrize(("key", "scope", "code"), [
    ("nonsense", MIRA, "unknown_key"), ("database_url", scopes.GLOBAL, "infra_key"),
    ("xai_api_key", MIRA, "secret_key"), ("postgres_password", scopes.GLOBAL, "secret_key"),
    ("profile_maintenance_interval_minutes", MIRA, "scope_not_allowed"),
    ("system_prompt", scopes.GLOBAL, "scope_not_allowed"),
    # written by their environment variable's name
    ("DATABASE_URL", scopes.GLOBAL, "infra_key"), ("XAI_API_KEY", MIRA, "secret_key"),
    ("LLM_BAWT_POSTGRES_PASSWORD", scopes.GLOBAL, "secret_key"),
])
def test_keys_not_writable_in_a_scope_are_refused(key: str, scope: scopes.Scope, code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        lookup_writable(key, scope)
    assert exc.value.errors[0].code == code
    assert key in exc.value.message


def test_secrets_are_refused_with_a_pointer_to_the_environment() -> None:
    with pytest.raises(ValidationFailed, match=r"belongs in the environment \(XAI_API_KEY\)"):
        lookup_writable("xai_api_key", MIRA)


def test_validate_items_collects_every_error_at_once() -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_items([("temperature", 9), ("bogus", 1), ("top_p", 0.5), ("max_tokens", "x")], MIRA)
    assert [e.key for e in exc.value.errors] == ["temperature", "bogus", "max_output_tokens"]


@pytest.mark.parametrize(("key", "text", "expected"), [
    ("temperature", "0.5", 0.5), ("max_output_tokens", "2048", 2048), ("uses_tools", "yes", True),
    ("uses_tools", "false", False), ("name", "123", "123"), ("name", '"quoted"', "quoted"),
    ("default_model", "null", None), ("system_prompt", "You are {x}", "You are {x}"),
    ("nextcloud", '{"room": "a"}', {"room": "a"}), ("temperature", "warm", "warm"),
])
def test_text_from_env_and_cli_is_parsed_by_key_type(key: str, text: str, expected: object) -> None:
    assert parse_text(REGISTRY[key], text) == expected


@pytest.mark.parametrize("text", ["global", "bots/mira", "bots/a", "bots/nova-2_x"])
def test_scopes_round_trip_through_their_written_form(text: str) -> None:
    assert str(scopes.parse_scope(text)) == text


@pytest.mark.parametrize("text", ["bots/Mira", "bots/", "bots/-x", "bot/mira", "mira", "bots/" + "a" * 65,
                                  "bots/mi ra", "bots/mira/x"])
def test_bad_scopes_are_refused(text: str) -> None:
    with pytest.raises(scopes.InvalidScope):
        scopes.parse_scope(text)
