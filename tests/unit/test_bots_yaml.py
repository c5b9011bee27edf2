"""bots.yaml parsing, merging, validation and warnings (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.bots_yaml import BotsYamlError, deep_merge, load_bots
from app.domain.environment import InvalidEnvironment, env_layer

ROOT = Path(__file__).resolve().parents[2]

PLATFORM = """
bot_defaults:
  history_tokens: 12000
  history_bridge_messages: 4
  nested_thing: {a: 1}
bots:
  mira:
    name: Mira
    voice_optimized: true
    system_prompt: |
      You are Mira. Ünïcödé ✓
      Second line.
    settings:
      history_tokens: 10000
      max_tokens: 800
      mystery_knob: 3
    agent_backend: openclaw
  nova:
    settings: {temperature: 0.2}
defaults:
  standard: nova
"""


def test_settings_merge_over_the_template_and_profile_fields_are_kept() -> None:
    cfg = load_bots([("bots.yaml", PLATFORM)])
    mira = cfg.layer_for("mira")
    assert mira["history_tokens"] == 10000  # the bot wins
    assert mira["history_bridge_messages"] == 4  # from the template (alias bot_defaults)
    assert mira["max_output_tokens"] == 800  # legacy name mapped
    assert mira["system_prompt"] == "You are Mira. Ünïcödé ✓\nSecond line.\n"
    assert mira["voice_optimized"] is True and mira["name"] == "Mira"
    assert cfg.layer_for("nova") == {"history_tokens": 12000, "history_bridge_messages": 4, "temperature": 0.2}
    assert cfg.default_bot == "nova"
    # A bot that is not in the file still stands on the template.
    assert cfg.layer_for("ghost") == {"history_tokens": 12000, "history_bridge_messages": 4}


def test_unknown_keys_are_kept_as_warnings_never_used() -> None:
    cfg = load_bots([("bots.yaml", PLATFORM)])
    text = "\n".join(cfg.warnings)
    assert "bots.mira.settings.mystery_knob is not a known setting" in text
    assert "bots.mira.agent_backend is not a known profile field" in text
    assert "nested_thing is not a known setting" in text
    assert "max_tokens" in text and "legacy" in text
    assert "mystery_knob" not in cfg.layer_for("mira")


def test_merge_rule_mappings_recurse_and_everything_else_replaces() -> None:
    assert deep_merge({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}, "c": 2}) == {
        "a": {"x": 1, "y": [3]}, "b": 1, "c": 2}


def test_a_user_file_layers_over_the_project_file() -> None:
    user = "bots:\n  mira:\n    settings:\n      history_tokens: 20000\n  zed:\n    name: Zed\n"
    cfg = load_bots([("bots.yaml", PLATFORM), ("user.yaml", user)])
    assert cfg.layer_for("mira")["history_tokens"] == 20000
    assert cfg.layer_for("mira")["name"] == "Mira"
    assert set(cfg.bots) == {"mira", "nova", "zed"}
    assert cfg.sources == ("bots.yaml", "user.yaml")


@pytest.mark.parametrize(("text", "fragment"), [
    ("bots: [1, 2]", "bots.yaml: bots must be a mapping, not list"),
    ("bots:\n  mira:\n    settings: 5\n", "bots.yaml: bots.mira.settings must be a mapping"),
    ("bots:\n  mira:\n    settings:\n      temperature: hot\n", "bots.yaml: bots.mira.settings.temperature"),
    ("bots:\n  mira:\n    uses_tools: maybe\n", "bots.yaml: bots.mira.uses_tools"),
    ("bot_settings_template:\n  top_p: 0\n", "bots.yaml: bot_settings_template.top_p"),
    ("bots:\n  Mira:\n    name: x\n", "invalid bot slug 'Mira'"),
    ("bots:\n  mira: {\n", "not valid YAML at line"),
    ("- just\n- a list\n", "top level must be a mapping"),
])
def test_malformed_files_are_errors_naming_file_bot_and_key(text: str, fragment: str) -> None:
    with pytest.raises(BotsYamlError) as exc:
        load_bots([("bots.yaml", text)])
    assert fragment in exc.value.message


def test_the_project_bots_yaml_ships_rich_mira_lean_nova_and_a_bot_without_settings() -> None:
    cfg = load_bots([("bots.yaml", (ROOT / "bots.yaml").read_text())])
    mira, nova = cfg.layer_for("mira"), cfg.layer_for("nova")
    assert mira["history_tokens"] > 4 * nova["history_tokens"]
    assert mira["history_duration_seconds"] > nova["history_duration_seconds"]
    assert mira["summary_count"] > nova["summary_count"] == 0
    assert "settings:" not in (ROOT / "bots.yaml").read_text().split("spark:")[1].split("defaults:")[0]
    assert cfg.bots["spark"].settings == cfg.template
    assert not cfg.warnings


def test_environment_layer_parses_by_type_and_honours_legacy_names() -> None:
    values, warnings = env_layer({"LLM_BAWT_TEMPERATURE": "0.3", "LLM_BAWT_MAX_TOKENS": "999",
                                  "LLM_BAWT_SUMMARIZATION_SKIP_LOW_SIGNAL": "false",
                                  "LLM_BAWT_SEARCH_DEPTH": "advanced", "LLM_BAWT_EXTRACTION_MODEL": "null",
                                  "UNRELATED": "x"})
    assert values == {"temperature": 0.3, "max_output_tokens": 999, "summarization_skip_low_signal": False,
                      "search_depth": "advanced", "extraction_model": None}
    assert warnings == ["LLM_BAWT_MAX_TOKENS is a legacy variable; use LLM_BAWT_MAX_OUTPUT_TOKENS"]
    values, _ = env_layer({"LLM_BAWT_MAX_TOKENS": "1", "LLM_BAWT_MAX_OUTPUT_TOKENS": "2"})
    assert values == {"max_output_tokens": 2}


@pytest.mark.parametrize(("name", "text"), [("LLM_BAWT_TEMPERATURE", "hot"), ("LLM_BAWT_TOP_P", "0"),
                                            ("LLM_BAWT_MEMORY_N_RESULTS", "1.5"),
                                            ("LLM_BAWT_SEARCH_DEPTH", "deep"), ("LLM_BAWT_USES_X", "1")])
def test_a_bad_environment_value_is_an_error_naming_the_variable(name: str, text: str) -> None:
    if name == "LLM_BAWT_USES_X":
        assert env_layer({name: text}) == ({}, [])  # not a setting's variable: not ours to judge
        return
    with pytest.raises(InvalidEnvironment, match=name):
        env_layer({name: text})
