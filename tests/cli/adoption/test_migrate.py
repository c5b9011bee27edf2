"""`botsettings migrate` and `bootstrap` from a realistic bots.yaml and environment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from app.config import Config
from app.domain.intake import parse_env_file
from app.domain.registry import keys_for
from app.domain.scopes import ScopeType
from app.runtime import Runtime
from tests.support.adoption import Invoke, migrate_args
from tests.support.database import sql

BOTS = ("mira", "nova", "spark")


def effective(db_url: str, tmp_path: Path, yaml: list[Path], env_file: Path | None,
              bots: tuple[str, ...] = BOTS) -> dict[str, dict[str, Any]]:
    """Every bot's effective values as a service process with these files resolves them."""
    env = parse_env_file(env_file.read_text()) if env_file else {}
    config = Config(database_url=db_url, data_dir=tmp_path, migrate_on_start=False, bots_yaml=yaml[0],
                    user_bots_yaml=yaml[1] if len(yaml) > 1 else None,
                    llm_env={k: v for k, v in env.items() if k.startswith("LLM_BAWT_")})

    async def read() -> dict[str, dict[str, Any]]:
        rt = await Runtime.start(config, migrate=False)
        try:
            return {slug: {k: r.value for k, r in rt.service.snapshot(slug).values.items()} for slug in bots}
        finally:
            await rt.close()
    return asyncio.run(read())


def test_the_dry_run_report_is_exact_and_writes_nothing(invoke: Invoke, files: dict[str, Path],
                                                        db_url: str) -> None:
    plan = json.loads(invoke(*migrate_args(files), "--dry-run", "--json").stdout)["plan"]
    sections = {s["scope"]: s for s in plan["scopes"]}
    assert list(sections) == ["global", "bot_settings_template", "bots/mira", "bots/nova", "bots/spark"]
    assert sections["global"]["add"] == {"temperature": 0.5, "memory_n_results": 7, "max_output_tokens": 2000,
                                         "profile_maintenance_interval_minutes": 90}
    assert sections["bots/mira"]["add"] == {
        "history_tokens": 64000, "history_bridge_messages": 4, "max_output_tokens": 1024, "temperature": 0.85,
        "name": "Mira", "description": "Compañera de conversación — voz natural ✓", "voice_optimized": True,
        "default_model": "grok-4-fast",
        "system_prompt": "You are Mira, a warm and curious companion. 🌙 You remember what people tell you\n"
                         "and pick up conversations where they left off. Speak naturally, as if aloud.\n\n"
                         "Rules:\n  - never invent memories;\n  - ask before you assume.\n"
                         "Ünïcödé is fine: 日本語, العربية, emoji 🎉.\n"}
    assert sections["bots/nova"]["add"] == {
        "history_tokens": 12000, "history_bridge_messages": 4, "temperature": 0.6,
        "history_duration_seconds": 600, "top_p": 0.9, "max_output_tokens": 512, "name": "Nova",
        "requires_memory": False, "uses_tools": True, "nextcloud": {"room": "ops", "enabled": True},
        "system_prompt": "You are Nova.\nAnswer briefly.\n"}
    assert sections["bots/spark"]["add"] == {
        "history_tokens": 12000, "history_bridge_messages": 4, "max_output_tokens": 1024, "temperature": 0.6,
        "name": "Spark", "default_model": "llama-3.2-3b", "description": "Local model for offline use"}
    ignored = {(i["name"], i["reason"]) for s in plan["scopes"] for i in s["ignored"]}
    assert ignored == {
        ("DATABASE_URL", "infra"), ("LLM_BAWT_POSTGRES_HOST", "infra"), ("XAI_API_KEY", "secret"),
        ("LLM_BAWT_FANCY_MODE", "unknown"), ("LLM_BAWT_TOP_P", "wrong_type"),
        ("bot_settings_template.mystery_knob", "unknown"),
        ("bots.mira.settings.history_duration_seconds", "wrong_type"),
        ("bots.mira.settings.profile_maintenance_interval_minutes", "wrong_scope"),
        ("bots.mira.settings.uses_tools", "misplaced"), ("bots.mira.settings.xai_api_key", "secret"),
        ("bots.mira.agent_backend", "unknown"), ("bots.mira.temperature", "misplaced"),
        ("bots.spark.uses_search", "wrong_type")}
    assert len(plan["warnings"]) == 3 and all("legacy" in w for w in plan["warnings"])
    text = invoke(*migrate_args(files), "--dry-run")
    assert "  + temperature = 0.85" in text.stdout and "dry run: nothing written. 31 to add" in text.stdout
    assert "  ! LLM_BAWT_TOP_P: ignored, wrong type: 'top_p': expected a number" in text.stdout
    assert "sk-secret" not in text.stdout + text.stderr  # a secret's value is never echoed
    assert "LLM_BAWT_MAX_TOKENS is a legacy variable" in text.stderr
    assert sql(db_url, "SELECT count(*) FROM settings_events") == [(0,)]


def test_after_migrating_every_bot_resolves_as_before_and_a_second_run_is_a_noop(
        invoke: Invoke, files: dict[str, Path], db_url: str, tmp_path: Path) -> None:
    yaml = [files["project_clean"], files["user_clean"]]
    before = effective(db_url, tmp_path, yaml, files["env_clean"])
    assert before["mira"]["temperature"] == 0.85 and before["spark"]["temperature"] == 0.6
    assert before["spark"]["memory_n_results"] == 7  # from the environment

    out = invoke(*migrate_args(files, "_clean"), "--reason", "adopt botsettings").stdout
    assert "applied change" in out and "revisions 1…" in out
    assert sql(db_url, "SELECT source, reason, event_count FROM settings_changes") == [
        ("migration", "adopt botsettings", 31)]
    # Same files: the same values. No files at all: still the same, the database holds it all.
    assert effective(db_url, tmp_path, yaml, files["env_clean"]) == before
    assert effective(db_url, tmp_path, [files["empty"]], None) == before

    again = invoke(*migrate_args(files, "_clean")).stdout
    assert "nothing to do" in again and "0 to add" in again and "31 unchanged" in again
    assert sql(db_url, "SELECT count(*) FROM settings_changes") == [(1,)]
    assert "OK" in invoke("verify").stdout


def test_stored_values_are_kept_unless_overwrite(invoke: Invoke, files: dict[str, Path], db_url: str) -> None:
    invoke("set", "temperature", "0.3", "--bot", "mira")
    args = ["migrate", "--from-bots-yaml", str(files["project_clean"])]
    report = invoke(*args, "--dry-run").stdout
    assert "~ temperature: stored 0.3, incoming 0.85 → skip" in report and "1 differ (skipped)" in report
    invoke(*args)
    assert invoke("get", "temperature", "--bot", "mira").stdout.strip() == "0.3"
    assert "1 differ (overwritten)" in invoke(*args, "--overwrite").stdout
    assert invoke("get", "temperature", "--bot", "mira").stdout.strip() == "0.85"
    assert "nothing to do" in invoke(*args, "--overwrite").stdout


def test_a_bot_only_in_the_database_gets_the_template_so_it_keeps_resolving_the_same(
        invoke: Invoke, files: dict[str, Path], db_url: str, tmp_path: Path) -> None:
    invoke("set", "description", "database only", "--bot", "zed")
    yaml = [files["project_clean"], files["user_clean"]]
    before = effective(db_url, tmp_path, yaml, files["env_clean"], bots=("zed",))
    invoke(*migrate_args(files, "_clean"))
    assert effective(db_url, tmp_path, yaml, files["env_clean"], bots=("zed",)) == before
    assert effective(db_url, tmp_path, [files["empty"]], None, bots=("zed",)) == before


def test_migrate_needs_something_to_import(invoke: Invoke) -> None:
    assert "--from-env and/or --from-bots-yaml" in invoke("migrate", code=2).output


def test_bootstrap_seeds_global_and_every_bot_so_the_files_are_no_longer_needed(
        invoke: Invoke, files: dict[str, Path], db_url: str, tmp_path: Path) -> None:
    env = {"BOTSETTINGS_BOTS_YAML": str(files["project_clean"]), "LLM_BAWT_TEMPERATURE": "0.5",
           "LLM_BAWT_MAX_TOKENS": "3000"}
    invoke("set", "top_p", "0.5", "--global")
    yaml_env = tmp_path / "bootstrap.env"
    yaml_env.write_text("LLM_BAWT_TEMPERATURE=0.5\nLLM_BAWT_MAX_TOKENS=3000\n")
    before = effective(db_url, tmp_path, [files["project_clean"]], yaml_env)
    report = json.loads(invoke("bootstrap", "--dry-run", "--json", env=env).stdout)["plan"]
    glob = report["scopes"][0]
    assert glob["scope"] == "global" and glob["add"]["temperature"] == 0.5
    assert glob["add"]["max_output_tokens"] == 3000 and glob["add"]["search_depth"] == "basic"
    assert glob["differ"] == [{"key": "top_p", "stored": 0.5, "incoming": 0.95}]
    assert len(glob["add"]) == len(keys_for(ScopeType.GLOBAL)) - 1
    nova = next(s for s in report["scopes"] if s["scope"] == "bots/nova")
    assert nova["shadowed"] == {"top_p": 0.9}  # nova uses the stored global 0.5 today, and keeps it
    out = invoke("bootstrap", env=env).stdout
    assert "applied change" in out
    assert sql(db_url, "SELECT source FROM settings_changes ORDER BY first_revision") == [("cli",), ("bootstrap",)]
    assert effective(db_url, tmp_path, [files["empty"]], None) == before
    assert "nothing to do" in invoke("bootstrap", env=env).stdout
