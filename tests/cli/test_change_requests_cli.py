"""`botsettings propose` and `botsettings requests …`, through click, on a real database."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.output import EXIT_CONFLICT, EXIT_INVALID
from tests.support.cli import cli_env, run_cli
from tests.support.database import sql


def test_propose_show_refuse_own_approval_approve(db_url: str, tmp_path: Path) -> None:
    env = cli_env(db_url, tmp_path, BOTSETTINGS_REQUIRE_APPROVAL="all")

    def invoke(*args: str, code: int = 0) -> str:
        result = run_cli(*args, env=env, code=code)
        return result.stdout if code == 0 else result.output

    # The policy refuses the direct write, saying where to go; a bypass needs a reason and is recorded.
    out = invoke("set", "temperature", "0.5", "--bot", "mira", code=EXIT_CONFLICT)
    assert "change request" in out and "botsettings propose" in out
    proposed = json.loads(invoke("propose", "temperature=0.4", "--unset", "top_p", "--bot", "mira",
                                 "--reason", "calmer", "--actor", "alice", "--json"))
    assert proposed["status"] == "pending" and proposed["patches"] == {"bots/mira": {"temperature": 0.4,
                                                                                     "top_p": None}}
    rid = proposed["id"]
    shown = invoke("requests", "show", rid)
    assert "proposed by alice: calmer" in shown and "temperature" in shown and "(inherits)" in shown
    out = invoke("requests", "approve", rid, "--actor", "alice", code=EXIT_INVALID)
    assert "may not approve" in out
    listed = json.loads(invoke("requests", "list", "--status", "pending", "--json"))
    assert [r["id"] for r in listed] == [rid]
    approved = json.loads(invoke("requests", "approve", rid, "--actor", "bob", "--note", "ok", "--json"))
    assert (approved["status"], approved["decided_by"]) == ("applied", "bob")
    out = invoke("requests", "cancel", rid, "--actor", "alice", code=EXIT_CONFLICT)
    assert "applied" in out
    invoke("propose", "temperature=7", "--bot", "mira", "--reason", "x", code=EXIT_INVALID)
    invoke("set", "temperature", "0.6", "--bot", "mira", "--bypass-approval", "pager 12", "--actor", "carol")


def test_the_log_names_author_and_approver(db_url: str, tmp_path: Path) -> None:
    env = cli_env(db_url, tmp_path)
    rid = json.loads(run_cli("propose", "--patches", '{"global": {"temperature": 0.3}}', "--reason", "night",
                             "--actor", "alice", "--json", env=env).stdout)["id"]
    run_cli("requests", "reject", rid, "--actor", "bob", env=env)
    rid = json.loads(run_cli("propose", "--patches", '{"global": {"temperature": 0.3}}', "--reason", "night",
                             "--actor", "alice", "--json", env=env).stdout)["id"]
    run_cli("requests", "approve", rid, "--actor", "bob", env=env)
    [row] = sql(db_url, "SELECT actor, reason, source FROM settings_events")
    assert (row[0], row[2]) == ("alice", "change_request")
    assert row[1] == f"night (change request {rid}: proposed by alice, approved by bob)"
    statuses = sql(db_url, "SELECT status FROM change_requests ORDER BY created_at")
    assert [s[0] for s in statuses] == ["rejected", "applied"]
