"""/v1/bots/{slug}/prepare and `botsettings prepare`: the pipeline without forwarding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from app.cli.main import cli
from app.cli.output import EXIT_INVALID, EXIT_NOT_FOUND
from app.domain import scopes
from app.runtime import Runtime
from tests.chat.fakes import FakeUpstream

ASK = {"messages": [{"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "hello"}]}


async def test_prepare_returns_the_upstream_request_and_provenance_and_forwards_nothing(
        gateway: str, upstream: FakeUpstream, runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.bot("nova"), "allow_request_system_prompt", True, actor="t")
    async with httpx.AsyncClient(base_url=gateway) as http:
        r = await http.post("/v1/bots/mira/prepare", json={**ASK, "top_p": 0.5})
        assert r.status_code == 200 and r.headers["x-settings-revision"] == "1"
        body = r.json()
        sent = body["request"]
        assert sent["messages"][0]["content"].startswith("You are Mira") and len(sent["messages"]) == 2
        assert (sent["model"], sent["top_p"], sent["temperature"]) == ("grok-4-fast", 0.5, 0.85)
        prov = body["provenance"]
        assert prov["settings"]["top_p"] == {"value": 0.5, "source": "request"}
        assert prov["settings"]["max_context_tokens"] == {"value": 64000, "source": "yaml"}
        assert prov["context"]["dropped_system_messages"] == 1 and prov["overrides"] == {"top_p": "top_p"}
        # nova lets a request bring its own system prompt (set in the database just above)
        nova = (await http.post("/v1/bots/nova/prepare", json=ASK)).json()
        assert nova["request"]["messages"][0]["content"] == "Be a pirate."
        assert nova["provenance"]["settings"]["allow_request_system_prompt"]["source"] == "bot"
        # a request naming another bot, and one that cannot fit nova's 4,000-token budget
        r = await http.post("/v1/bots/mira/prepare", json={**ASK, "model": "nova"})
        assert r.status_code == 422 and "names bot 'nova'" in r.json()["detail"]
        r = await http.post("/v1/bots/nova/prepare", json={"messages": [{"role": "user", "content": "x" * 20000}]})
        problem = r.json()
        assert r.status_code == 422 and problem["errors"][0]["code"] == "context_budget_exceeded"
        assert problem["over_by_tokens"] == problem["needed_tokens"] - 4000 > 0
        assert f"{problem['over_by_tokens']} tokens over" in problem["detail"]
        r = await http.post("/v1/bots/zed/prepare", json=ASK)
        assert r.status_code == 404
        r = await http.post("/v1/bots/mira/prepare", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "malformed JSON" in r.json()["detail"]
        r = await http.post("/v1/bots/mira/prepare", content=b"{}")  # no Content-Type: what a cross-site form sends
        assert r.status_code == 415
    assert upstream.received == []


def test_cli_prepare_reads_stdin_and_prints_a_table_or_json(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)}

    def invoke(*args: str, stdin: Any, code: int = 0) -> str:
        result = CliRunner().invoke(cli, ["prepare", *args], input=stdin, env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    out = invoke("--bot", "nova", stdin=json.dumps({**ASK, "temperature": 0.4}))
    assert "nova at revision 0: model qwen3-8b (from default_model)" in out
    assert "temperature" in out and "request" in out and "You are Nova" in out
    data = json.loads(invoke("--bot", "mira", "--json", stdin=json.dumps(ASK)))
    assert data["request"]["max_tokens"] == 2048 and data["provenance"]["settings"]["temperature"]["source"] == "yaml"
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(ASK))
    assert json.loads(invoke("--bot", "spark", "--json", "--file", str(request_file), stdin=""))["request"][
        "model"] == "llama-3.2-3b"
    assert "temperature" in invoke("--bot", "mira", stdin=json.dumps({**ASK, "temperature": 9}), code=EXIT_INVALID)
    assert "messages" in invoke("--bot", "mira", stdin='{"messages": 3}', code=EXIT_INVALID)
    assert "unknown bot" in invoke("--bot", "zed", stdin=json.dumps(ASK), code=EXIT_NOT_FOUND)
