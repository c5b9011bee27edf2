"""`botsettings jobs` and `botsettings schedule`, through click, on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli.output import EXIT_CONFLICT, EXIT_INVALID
from tests.support.cli import cli_env, run_cli
from tests.support.scheduler import BOTS_YAML


@pytest.fixture
def invoke(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "bots.yaml").write_text(BOTS_YAML)
    env = cli_env(db_url, tmp_path, BOTSETTINGS_BOTS_YAML=str(tmp_path / "bots.yaml"))

    def run(*args: str, code: int = 0) -> str:
        result = run_cli(*args, env=env, code=code)
        return result.stdout if code == 0 else result.output
    return run


def test_jobs_reflect_an_interval_change_at_once(invoke) -> None:  # type: ignore[no-untyped-def]
    out = invoke("jobs")
    assert "history_summarization:mira" in out and "20 min" in out and "no handler" in out
    invoke("set", "history_summarization_interval_minutes", "5", "--bot", "mira")
    line = next(line for line in invoke("jobs").splitlines() if line.startswith("history_summarization:mira"))
    assert "5 min" in line and " bot " in line
    jobs = {j["id"]: j for j in json.loads(invoke("jobs", "--json"))["jobs"]}
    mira, nova = jobs["history_summarization:mira"], jobs["history_summarization:nova"]
    assert (mira["interval_minutes"], nova["interval_source"]) == (5, "default")
    assert "no handler" in invoke("jobs", "run", "history_summarization:mira", code=EXIT_CONFLICT)
    assert "no job 'nope'" in invoke("jobs", "runs", "nope", code=5)


def test_jobs_run_runs_the_built_in_projection_check(invoke) -> None:  # type: ignore[no-untyped-def]
    out = invoke("jobs", "run", "projection_check")
    assert "succeeded after 1 attempt(s), handler built-in" in out
    runs = json.loads(invoke("jobs", "runs", "projection_check", "--json"))
    assert [r["status"] for r in runs] == ["succeeded"]


def test_schedule_set_list_show_cancel(invoke) -> None:  # type: ignore[no-untyped-def]
    at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")
    out = invoke("schedule", "set", "temperature", "0.3", "--bot", "mira", "--at", at, "--reason", "calmer")
    assert out.startswith("scheduled ") and "bots/mira" in out
    change = json.loads(invoke("schedule", "set", "search_depth", "advanced", "--global", "--in", "2m", "--json"))
    assert change["patch"] == {"search_depth": "advanced"} and change["actor"].startswith("tester@")
    listing = invoke("schedule", "list")
    assert "calmer" in listing and "pending" in listing and "search_depth" in listing
    shown = json.loads(invoke("schedule", "show", change["id"], "--json"))
    assert shown["status"] == "pending"
    assert "cancelled" in invoke("schedule", "cancel", change["id"])
    assert "not pending" in invoke("schedule", "cancel", change["id"], code=EXIT_CONFLICT)
    assert [c["status"] for c in json.loads(invoke("schedule", "list", "--status", "pending", "--json"))] == ["pending"]


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (("schedule", "set", "temperature", "9", "--bot", "mira", "--in", "1h"), EXIT_INVALID, "out of bounds"),
    (("schedule", "set", "temperature", "0.3", "--bot", "mira"), 2, "say when"),
    (("schedule", "set", "temperature", "0.3", "--bot", "mira", "--at", "2030-01-01T00:00"), 2, "no time zone"),
    (("schedule", "set", "temperature", "0.3", "--bot", "mira", "--at", "tomorrow"), 2, "ISO 8601"),
    (("schedule", "set", "temperature", "0.3", "--bot", "mira", "--in", "soon"), 2, "duration"),
    (("schedule", "set", "temperature", "0.3", "--bot", "mira", "--at", "2001-01-01T00:00Z"), EXIT_INVALID,
     "not in the future"),
    (("schedule", "show", "abc"), 2, "UUID"),
])
def test_bad_schedule_input_is_refused_with_a_clear_error(invoke, args, code, fragment) -> None:  # type: ignore[no-untyped-def]
    assert fragment in invoke(*args, code=code)
    assert "no scheduled changes" in invoke("schedule", "list")
