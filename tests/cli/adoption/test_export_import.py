"""`botsettings export` / `import` round-trip exactly; `rename-key` moves retired names."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.support.adoption import Invoke, migrate_args
from tests.support.database import admin, sql, with_database

PROMPT = "Línea uno ✓\n  indented line\ntrailing spaces   \n\n\"quoted\" and 'single' — 🎉\n"


def seed(invoke: Invoke, files: dict[str, Path]) -> None:
    invoke(*migrate_args(files, "_clean"))
    invoke("set", "system_prompt", PROMPT, "--bot", "nova")
    invoke("set", "extraction_model", "null", "--global")
    invoke("set", "nextcloud", '{"room": "ops", "nested": {"list": [1, 2.5, "x"]}}', "--bot", "spark")


def test_export_import_export_is_identical_and_reimport_is_a_noop(invoke: Invoke, files: dict[str, Path],
                                                                  tmp_path: Path, server_url: str,
                                                                  db_url: str) -> None:
    seed(invoke, files)
    exported = invoke("export").stdout
    assert exported.startswith("# botsettings export") and "bots:\n  mira:\n" in exported
    assert "extraction_model: null" in exported
    path = tmp_path / "settings.yaml"
    path.write_text(exported, encoding="utf-8")
    assert "nothing to do" in invoke("import", str(path)).stdout  # the same database: nothing changes

    # Into a second, empty database: then its export is byte-for-byte the same.
    other = f"bs_import_{tmp_path.name[-20:].replace('-', '_').lower()}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{other}"'))
    try:
        other_url = with_database(db_url, other)
        env = {"DATABASE_URL": other_url}
        dry = invoke("import", str(path), "--dry-run", env=env).stdout
        assert "dry run: nothing written" in dry and "0 to delete" in dry
        invoke("import", str(path), env=env)
        assert invoke("export", env=env).stdout == exported
        stored = json.loads(invoke("list", "--bot", "nova", "--json", env=env).stdout)
        assert {v["key"]: v["value"] for v in stored["values"]}["system_prompt"] == PROMPT
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)'))


def test_import_makes_named_scopes_exact_and_leaves_others_alone(invoke: Invoke, files: dict[str, Path],
                                                                 tmp_path: Path) -> None:
    seed(invoke, files)
    mira = invoke("export", "--bot", "mira").stdout
    assert "global:" not in mira and "nova" not in mira
    edited = mira.replace("    temperature: 0.85\n", "") + "    top_p: 0.5\n"
    path = tmp_path / "mira.yaml"
    path.write_text(edited, encoding="utf-8")
    plan = json.loads(invoke("import", str(path), "--dry-run", "--json").stdout)["plan"]
    assert [s["scope"] for s in plan["scopes"]] == ["bots/mira"]
    assert plan["scopes"][0]["add"] == {"top_p": 0.5} and plan["scopes"][0]["remove"] == {"temperature": 0.85}
    nova_before = invoke("export", "--bot", "nova").stdout
    invoke("import", str(path))
    assert invoke("get", "temperature", "--bot", "mira", code=1)
    assert invoke("export", "--bot", "nova").stdout == nova_before
    assert invoke("export", "--global").stdout.count("\n") > 3


def test_import_refuses_a_bad_document_naming_each_problem(invoke: Invoke, tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("global:\n  temperature: hot\n  system_prompt: x\nbots:\n  Bad Slug: {}\nextra: 1\n")
    out = invoke("import", str(path), code=3).output
    assert "'extra' is not a section" in out and "temperature" in out and "system_prompt" in out
    assert "invalid bot slug" in out
    assert sql(db_url, "SELECT count(*) FROM settings_events") == [(0,)]


def test_rename_key_moves_values_stored_under_a_retired_name(invoke: Invoke, db_url: str) -> None:
    # A database written before `max_tokens` was renamed: rows under the old name.
    sql(db_url, """
        WITH c AS (INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason,
                                                 source, recorded_at)
                   VALUES ('00000000-0000-0000-0000-000000000001', 1, 2, 2, 'old', '', 'api', now())),
             e AS (INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value,
                                                previous, had_previous, key_version, actor, reason, source,
                                                recorded_at)
                   VALUES (1, '00000000-0000-0000-0000-000000000001', 'bot', 'mira', 'max_tokens', 'set',
                           '900', NULL, false, 1, 'old', '', 'api', now()),
                          (2, '00000000-0000-0000-0000-000000000001', 'global', '*', 'max_tokens', 'set',
                           '700', NULL, false, 1, 'old', '', 'api', now())),
             p AS (INSERT INTO settings_current VALUES ('bot', 'mira', 'max_tokens', '900', 1, 1, now(), 'old'),
                                                       ('global', '*', 'max_tokens', '700', 1, 2, now(), 'old'))
        UPDATE settings_head SET revision = 2 WHERE id = 1
    """)
    assert "OK" in invoke("verify").stdout
    # read under the current name (app/domain/upcast.py), though stored under the old one
    assert "max_output_tokens  900" in invoke("list", "--bot", "mira").stdout
    dry = invoke("rename-key", "max_tokens", "max_output_tokens", "--dry-run").stdout
    assert "global: max_tokens → max_output_tokens = 700" in dry and "bots/mira:" in dry
    assert "dry run: nothing written" in dry
    invoke("rename-key", "max_tokens", "max_output_tokens")
    assert invoke("get", "max_output_tokens", "--bot", "mira").stdout.strip() == "900"
    assert invoke("get", "max_output_tokens", "--global").stdout.strip() == "700"
    assert sql(db_url, "SELECT count(*) FROM settings_current WHERE key = 'max_tokens'") == [(0,)]
    assert sql(db_url, "SELECT event_count, source FROM settings_changes ORDER BY first_revision DESC LIMIT 1") \
        == [(4, "cli")]
    assert "nothing to do" in invoke("rename-key", "max_tokens", "max_output_tokens").stdout
    assert "OK" in invoke("verify").stdout
    assert "unknown setting 'nope'" in invoke("rename-key", "temperature", "nope", code=3).output


def test_export_as_of_a_past_revision_is_the_export_taken_then(invoke: Invoke, files: dict[str, Path],
                                                               tmp_path: Path) -> None:
    seed(invoke, files)
    before = invoke("export").stdout
    head = json.loads(invoke("history", "--limit", "1", "--json").stdout)["events"][0]["revision"]
    invoke("set", "temperature", "0.11", "--bot", "mira")
    invoke("unset", "system_prompt", "--bot", "nova")
    assert invoke("export").stdout != before
    assert invoke("export", "--as-of", str(head)).stdout == before
    mira_then = invoke("export", "--bot", "mira", "--as-of", str(head)).stdout
    assert "temperature: 0.11" not in mira_then and "mira:" in mira_then
    # Importing the past export restores that state exactly.
    path = tmp_path / "then.yaml"
    path.write_text(before, encoding="utf-8")
    invoke("import", str(path))
    assert invoke("export").stdout == before
