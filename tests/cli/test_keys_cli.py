"""botsettings keys list|show, and the CLI's reads of history after a rename."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import cli_env, run_cli
from tests.support.registries import BEFORE_RENAME, installed


@pytest.fixture
def invoke(db_url: str, tmp_path: Path):
    env = cli_env(db_url, tmp_path)

    def run(*args: str, code: int = 0) -> str:
        result = run_cli(*args, env=env, code=code)
        return result.stdout if code == 0 else result.output
    return run


def test_keys_list_and_show(invoke) -> None:
    listing = invoke("keys", "list")
    assert "max_tool_calls_per_turn" in listing and "global only" in listing and "max_context_tokens" in listing
    agent = json.loads(invoke("keys", "list", "--bot-type", "agent", "--json"))
    assert {"session_model", "timeout_seconds"} <= {k["key"] for k in agent}
    assert "include_summaries" not in {k["key"] for k in agent}
    shown = invoke("keys", "show", "max_context_tokens")  # a legacy name shows its key
    assert "history_tokens" in shown and "renamed from max_context_tokens" in shown and "12000" in shown
    assert "unknown setting 'nope'" in invoke("keys", "show", "nope", code=5)


def test_after_a_rename_the_cli_speaks_of_the_new_name(invoke) -> None:
    with installed(BEFORE_RENAME):
        invoke("set", "max_context_tokens", "64000", "--bot", "mira")
    history = invoke("history", "--bot", "mira")
    assert "history_tokens" in history and "max_context_tokens" not in history
    past = invoke("list", "--bot", "mira", "--as-of", "1")
    assert "history_tokens" in past and "64000" in past
    out = invoke("set", "max_context_tokens", "0", "--bot", "mira", code=3)
    assert "no counterpart" in out
