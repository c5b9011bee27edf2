"""The CLI tests' runner: `invoke("set", "temperature", "0.5", "--bot", "mira")` runs
`botsettings` in-process against this test's database and returns its output (stdout
on success, everything on the expected failure). A file that needs another environment
(a bots.yaml, stdin) defines its own `invoke`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import cli_env, run_cli


@pytest.fixture
def invoke(db_url: str, tmp_path: Path) -> Callable[..., str]:
    env = cli_env(db_url, tmp_path)

    def run(*args: str, code: int = 0) -> str:
        result = run_cli(*args, env=env, code=code)
        return result.stdout if code == 0 else result.output
    return run
