"""The operators' history commands: history, changes, change, diff, rollback, revert, list --as-of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.output import EXIT_CONFLICT, EXIT_INVALID, EXIT_NOT_FOUND
from tests.support.cli import cli_env, run_cli


@pytest.fixture
def invoke(db_url: str, tmp_path: Path):
    env = cli_env(db_url, tmp_path)

    def run(*args: str, code: int = 0, input: str | None = None) -> str:
        return run_cli(*args, env=env, code=code, input=input).output
    return run


def test_history_rollback_dry_run_then_apply_as_the_operator_would(invoke) -> None:
    invoke("set", "temperature", "0.5", "--bot", "mira", "--actor", "alice", "--reason", "warmer voice")
    invoke("set", "top_p", "0.9", "--bot", "mira", "--actor", "alice")
    good = json.loads(invoke("history", "--bot", "mira", "--json"))["events"][0]["recorded_at"]
    invoke("set", "temperature", "1.9", "--bot", "mira", "--actor", "mallory", "--reason", "chaos")
    invoke("unset", "top_p", "--bot", "mira", "--actor", "mallory")
    invoke("set", "temperature", "0.1", "--bot", "nova")

    out = invoke("history", "--bot", "mira")
    lines = out.splitlines()
    assert lines[0].split() == ["REV", "WHEN", "SCOPE", "KEY", "CHANGE", "ACTOR", "SOURCE", "REASON"]
    assert "top_p" in lines[1] and "0.9 → deleted" in lines[1] and "mallory" in lines[1]
    assert "0.5 → 1.9" in lines[2] and "chaos" in lines[2]
    assert "- → 0.5" in lines[4] and "alice" in lines[4] and "warmer voice" in lines[4]
    assert "nova" not in out

    dry = invoke("rollback", "--to", good, "--bot", "mira", "--dry-run")
    assert "temperature" in dry and "1.9" in dry and "0.5" in dry
    assert "top_p" in dry and "(not set)" in dry and "dry run: 2 key(s) would be restored" in dry
    assert len(json.loads(invoke("history", "--json"))["events"]) == 5  # nothing written

    refused = invoke("rollback", "--to", good, "--bot", "mira", input="n\n", code=1)
    assert "apply this change?" in refused
    done = invoke("rollback", "--to", good, "--bot", "mira", "--reason", "undo chaos", input="y\n")
    assert "applied: change" in done
    assert json.loads(invoke("list", "--bot", "mira", "--json"))["values"][1]["value"] == 0.9
    latest = invoke("history", "--bot", "mira", "--limit", "2")
    assert latest.count("  rollback  rollback of bots/mira to revision 2") == 2
    assert "undo chaos" in latest and "more: --cursor" in latest
    assert "nothing to do" in invoke("rollback", "--to", good, "--bot", "mira", "--yes")


def test_list_as_of_diff_changes_and_revert(invoke) -> None:
    invoke("set", "temperature", "0.5", "--global")
    change = json.loads(invoke("set", "temperature", "0.7", "--global", "--json"))["change_id"]
    past = invoke("list", "--global", "--as-of", "1")
    assert "temperature  0.5" in past and "at revision 1" in past
    assert "temperature  0.7" in invoke("list", "--global")
    diff = invoke("diff", "--from", "1")
    assert "global  temperature  0.5   0.7" in diff and "1 difference(s) from revision 1 to 2" in diff
    assert invoke("history", "--since", "1h", "--global").count("temperature") == 2
    assert "no events match" in invoke("history", "--until", "1h")
    assert "expected a timestamp" in invoke("history", "--since", "5", code=2)
    assert change in invoke("changes")
    assert "0.5 → 0.7" in invoke("change", change)
    out = invoke("revert", change, "--yes", "--reason", "too warm")
    assert "applied" in out
    assert json.loads(invoke("get", "temperature", "--global", "--json"))["value"] == 0.5
    assert "later changes touched" in invoke("revert", change, "--yes", code=EXIT_CONFLICT)


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (("rollback", "--to", "99", "--yes"), EXIT_INVALID, "beyond the head"),
    (("rollback", "--to", "2000-01-01T00:00Z", "--yes"), EXIT_INVALID, "before the first event"),
    (("rollback", "--to", "next week", "--yes"), 2, "not an ISO 8601 timestamp"),
    (("list", "--bot", "mira", "--as-of", "2026-02-30"), 2, "not an ISO 8601 timestamp"),
    (("revert", "00000000-0000-0000-0000-000000000007", "--yes"), EXIT_NOT_FOUND, "no change with id"),
    (("revert", "abc", "--yes"), EXIT_INVALID, "not a change id"),
    (("history", "--change", "abc"), 2, "not a change id"),
])
def test_bad_input_exits_with_a_clear_error_and_writes_nothing(invoke, args, code, fragment) -> None:
    invoke("set", "temperature", "0.5", "--bot", "mira")
    assert fragment in invoke(*args, code=code)
    assert len(json.loads(invoke("history", "--json"))["events"]) == 1
