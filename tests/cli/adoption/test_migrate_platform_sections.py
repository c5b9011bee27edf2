"""`migrate` carries the whole of the platform's files: bots.yaml's `defaults:` and
`system_prompts:` sections (migrated, or each entry reported by name), its profile
fields without a setting (kept in `extra`), and LLM_BAWT_DEFAULT_MODEL_ALIAS (the
global default model, which a bot with `default_model: null` then chats with)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.adoption import Invoke
from tests.support.database import sql

# Shaped like the platform's own bots.yaml of the bots.yaml era (its sections, a bot
# without a model of its own, a colour), written here as test data.
PLATFORM_YAML = """\
bot_settings_template:
  memory_n_results: 10
bots:
  nova:
    name: Nova
    color: cyan
    default_model: grok-4-fast
    system_prompt: You are Nova.
  spark:
    name: Spark
    color: yellow
    default_model: null
    system_prompt: You are Spark.
defaults:
  standard: nova
  local: spark
system_prompts:
  refine: Turn raw input into a natural prompt.
  summarize: Summarize the conversation.
channels:
  talk: enabled
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    yaml, env = tmp_path / "bots.yaml", tmp_path / ".env"
    yaml.write_text(PLATFORM_YAML, encoding="utf-8")
    env.write_text("LLM_BAWT_DEFAULT_MODEL_ALIAS=grok-4-mini\n", encoding="utf-8")
    return yaml, env


def test_every_section_is_migrated_or_reported_by_name(invoke: Invoke, tmp_path: Path, db_url: str) -> None:
    yaml, env = _files(tmp_path)
    args = ["migrate", "--env-file", str(env), "--from-bots-yaml", str(yaml)]
    plan = json.loads(invoke(*args, "--dry-run", "--json").stdout)["plan"]
    sections = {s["scope"]: s for s in plan["scopes"]}
    assert sections["global"]["add"] == {"default_model_alias": "grok-4-mini", "default_bot": "nova"}
    assert sections["bots/spark"]["add"]["extra"] == {"color": "yellow"}
    assert sections["bots/nova"]["add"]["extra"] == {"color": "cyan"}
    # (DATABASE_URL is the test shell's own, read with the env file: infrastructure, not stored)
    ignored = {(i["name"], i["reason"]) for s in plan["scopes"] for i in s["ignored"] if i["name"] != "DATABASE_URL"}
    assert ignored == {("defaults.local", "not_migrated"), ("system_prompts.refine", "not_migrated"),
                       ("system_prompts.summarize", "not_migrated"), ("channels", "not_migrated")}
    text = invoke(*args, "--dry-run").stdout
    assert "  ! system_prompts.refine: ignored, not migrated: " in text
    assert "  ! defaults.local: ignored, not migrated: " in text and "5 ignored" in text
    assert sql(db_url, "SELECT count(*) FROM settings_events") == [(0,)]


def test_a_bot_without_a_model_of_its_own_chats_with_the_global_default(invoke: Invoke, tmp_path: Path) -> None:
    yaml, env = _files(tmp_path)
    invoke("migrate", "--env-file", str(env), "--from-bots-yaml", str(yaml))
    explained = invoke("effective", "--bot", "spark", "--json").stdout
    settings = json.loads(explained)["settings"]
    assert settings["default_model"] == {"value": "grok-4-mini", "source": "global",
                                         "revision": settings["default_model"]["revision"]}
    assert json.loads(invoke("effective", "--bot", "nova", "--json").stdout)["settings"]["default_model"][
        "value"] == "grok-4-fast"
    assert invoke("get", "default_bot", "--global").stdout.strip() == "nova"
