"""Safe by default, checked on the real `botsettings` command."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from bench.process import BIN, service_process
from tests.support.tokens import SECRETS, bearer, write_tokens_file


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    return write_tokens_file(tmp_path)


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, "serve", *args], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=60)


def test_binding_beyond_loopback_without_tokens_is_refused(tmp_path: Path) -> None:
    done = _serve({"BOTSETTINGS_DATA_DIR": str(tmp_path)}, "--host", "0.0.0.0")
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API tokens" in done.stderr
    assert "BOTSETTINGS_TOKENS_FILE" in done.stderr


def test_a_bad_tokens_file_stops_the_start_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "tokens"
    bad.write_text("# ops tokens\nops admin hunter2\n")
    done = _serve({"BOTSETTINGS_DATA_DIR": str(tmp_path), "BOTSETTINGS_TOKENS_FILE": str(bad)})
    assert done.returncode == 2
    assert f"{bad}, line 2" in done.stderr and "never the secret" in done.stderr
    assert "hunter2" not in done.stderr


def test_failed_attempts_are_logged_without_the_secret(db_url: str, tokens_file: Path, tmp_path: Path) -> None:
    env = {"BOTSETTINGS_TOKENS_FILE": str(tokens_file), "BOTSETTINGS_LOG_FORMAT": "json"}
    guess = SECRETS["admin"][:-1] + "x"
    with service_process(db_url, tmp_path, env=env, output=subprocess.PIPE) as (url, proc):
        assert httpx.patch(f"{url}/v1/settings/global", json={"temperature": 0.5},
                           headers={"Authorization": f"Bearer {guess}"}).status_code == 401
        assert httpx.patch(f"{url}/v1/settings/global", json={"temperature": 0.5},
                           headers=bearer("admin")).status_code == 200
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    failed = [e for e in events if e.get("event") == "auth.failed"]
    assert len(failed) == 1 and failed[0]["path"] == "/v1/settings/global"
    assert any(e.get("event") == "change.applied" and e.get("actor") == "admin" for e in events)
    assert guess not in output and not any(secret in output for secret in SECRETS.values())
