"""The operator CLI, in-process through click (the real command: tests/system/test_cli_processes.py)."""

from __future__ import annotations

import json

import pytest

from app.cli.output import EXIT_CONFLICT, EXIT_INVALID


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


def test_effective_and_explain_show_where_a_value_comes_from(invoke) -> None:
    invoke("set", "temperature", "0.3", "--global")
    out = invoke("effective", "--bot", "mira", "--key", "temperature", "--key", "history_tokens")
    assert "temperature     0.3    global" in out and "history_tokens  64000  yaml" in out
    data = json.loads(invoke("effective", "--bot", "nova", "--override", "temperature=0.1", "--json"))
    assert data["settings"]["temperature"] == {"value": 0.1, "source": "request", "revision": 1}
    explained = invoke("get", "temperature", "--bot", "mira", "--explain")
    assert "0.3 (from global)" in explained and "→  global" in explained and "yaml     0.85" in explained
    layers = json.loads(invoke("get", "temperature", "--bot", "mira", "--explain", "--json"))["layers"]
    assert [layer["layer"] for layer in layers if layer["present"]] == ["global", "yaml", "default"]
    assert "unknown bot 'zed'" in invoke("effective", "--bot", "zed", code=5)
