"""`botsettings prepare`: the pipeline without forwarding, from stdin or a file."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.output import EXIT_INVALID, EXIT_NOT_FOUND
from tests.support.cli import run_cli

ASK = {"messages": [{"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "hello"}]}


def test_cli_prepare_reads_stdin_and_prints_a_table_or_json(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)}

    def invoke(*args: str, stdin: str, code: int = 0) -> str:
        return run_cli("prepare", *args, input=stdin, env=env, code=code).output

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
