"""The operator CLI as the real `botsettings` command, beside a real `serve`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from bench.process import BIN, service_process


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
