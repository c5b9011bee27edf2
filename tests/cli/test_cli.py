"""The operator CLI, in-process through click and as the real `botsettings` command."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli.main import cli
from app.cli.output import EXIT_CONFLICT, EXIT_INVALID
from bench.process import BIN, service_process


@pytest.fixture
def invoke(db_url: str, tmp_path: Path):
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), env={"DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path),
                                                     "USER": "tester"}, catch_exceptions=False)
        assert result.exit_code == code, (result.output, result.stderr)
        return result.stdout if code == 0 else result.output
    return run


def test_set_get_list_unset_round_trip(invoke) -> None:
    out = invoke("set", "temperature", "0.5", "--bot", "mira", "--reason", "warmer")
    assert "temperature: - → 0.5" in out and "revision 1" in out
    assert invoke("get", "temperature", "--bot", "mira").strip() == "0.5"
    invoke("set", "system_prompt", "You are Mira.\nBe kind.", "--bot", "mira")
    invoke("set", "search_depth", "advanced", "--global")
    listing = invoke("list", "--bot", "mira")
    assert "temperature" in listing and "tester@" in listing and "2 stored" in listing
    data = json.loads(invoke("list", "--bot", "mira", "--json"))
    assert {v["key"]: v["value"] for v in data["values"]} == {
        "system_prompt": "You are Mira.\nBe kind.", "temperature": 0.5}
    assert "nothing changed" in invoke("set", "temperature", "0.5", "--bot", "mira")
    assert "deleted (inherits)" in invoke("unset", "temperature", "--bot", "mira")
    assert "not set in bots/mira" in invoke("get", "temperature", "--bot", "mira", code=1)


def test_json_output_of_a_change_is_machine_readable(invoke) -> None:
    change = json.loads(invoke("set", "max_tokens", "1024", "--global", "--json", "--actor", "deploy-bot"))
    assert change["items"][0]["key"] == "max_output_tokens"
    assert change["warnings"] and change["first_revision"] == 1
    view = json.loads(invoke("get", "max_output_tokens", "--global", "--json"))
    assert (view["value"], view["key_version"]) == (1024, 1)


@pytest.mark.parametrize(("args", "fragment"), [
    (("set", "temperature", "9", "--bot", "mira"), "out of bounds"),
    (("set", "temperature", "warm", "--bot", "mira"), "expected a number"),
    (("set", "nonsense", "1", "--global"), "unknown setting 'nonsense'"),
    (("set", "xai_api_key", "sk", "--global"), "belongs in the environment"),
    (("set", "system_prompt", "x", "--global"), "cannot be set in the global scope"),
])
def test_bad_values_exit_with_the_invalid_code_and_name_the_key(invoke, args: tuple[str, ...], fragment: str) -> None:
    assert fragment in invoke(*args, code=EXIT_INVALID)
    assert "nothing stored" in invoke("list", "--global")


def test_scope_must_be_named_once_and_well_formed(invoke) -> None:
    assert "--bot SLUG or --global" in invoke("list", code=2)
    assert "not both" in invoke("list", "--bot", "mira", "--global", code=2)
    assert "invalid bot slug" in invoke("list", "--bot", "Mira", code=2)


def test_verify_and_rebuild(invoke, db_url: str) -> None:
    invoke("set", "temperature", "0.5", "--bot", "mira")
    assert "OK: the projection equals a replay" in invoke("verify")
    import asyncio

    import asyncpg

    from app.store.engine import asyncpg_dsn

    async def tamper() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(db_url))
        await conn.execute("DELETE FROM settings_current")
        await conn.close()
    asyncio.run(tamper())
    out = invoke("verify", code=1)
    assert "missing" in out and "DRIFT" in out
    assert json.loads(invoke("rebuild", "--json")) == {"keys": 1}
    assert json.loads(invoke("verify", "--json"))["ok"] is True


def test_exit_code_for_conflicts_is_documented() -> None:
    assert EXIT_CONFLICT == 4 and EXIT_INVALID == 3


def test_serve_then_patch_over_http_and_read_with_the_cli(db_url: str, tmp_path: Path) -> None:
    """The issue's 'done when': curl PATCH, then `botsettings get` in another process."""
    env = {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)}
    with service_process(db_url, tmp_path, migrate=True) as (url, _):
        r = httpx.patch(f"{url}/v1/settings/bots/mira", content=b'{"temperature":0.5}',
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and r.json()["head"] == 1
        out = subprocess.run([BIN, "get", "temperature", "--bot", "mira"], env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.stdout.strip() == "0.5", out.stderr


def test_the_embedded_database_persists_between_processes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["BOTSETTINGS_DATA_DIR"] = str(tmp_path / "data")
    first = subprocess.run([BIN, "set", "temperature", "0.25", "--bot", "nova"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([BIN, "get", "temperature", "--bot", "nova"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert second.stdout.strip() == "0.25", second.stderr
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()


def test_effective_and_explain_show_where_a_value_comes_from(invoke) -> None:
    invoke("set", "temperature", "0.3", "--global")
    out = invoke("effective", "--bot", "mira", "--key", "temperature", "--key", "max_context_tokens")
    assert "temperature         0.3    global" in out and "max_context_tokens  64000  yaml" in out
    data = json.loads(invoke("effective", "--bot", "nova", "--override", "temperature=0.1", "--json"))
    assert data["settings"]["temperature"] == {"value": 0.1, "source": "request", "revision": 1}
    explained = invoke("get", "temperature", "--bot", "mira", "--explain")
    assert "0.3 (from global)" in explained and "→  global" in explained and "yaml     0.85" in explained
    layers = json.loads(invoke("get", "temperature", "--bot", "mira", "--explain", "--json"))["layers"]
    assert [layer["layer"] for layer in layers if layer["present"]] == ["global", "yaml", "default"]
    assert "unknown bot 'zed'" in invoke("effective", "--bot", "zed", code=5)
