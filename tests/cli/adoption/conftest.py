"""Adoption tests: a realistic platform bots.yaml and .env, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from tests.support.adoption import ENV_FILE, PROJECT_YAML, USER_YAML, Invoke, clean
from tests.support.cli import cli_env, run_cli


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in (("project", PROJECT_YAML), ("user", USER_YAML), ("env", ENV_FILE),
                       ("project_clean", clean(PROJECT_YAML)), ("user_clean", clean(USER_YAML)),
                       ("env_clean", clean(ENV_FILE)), ("empty", "")):
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text(text, encoding="utf-8")
    return paths


@pytest.fixture
def invoke(db_url: str, tmp_path: Path, files: dict[str, Path]) -> Invoke:
    shell = cli_env(db_url, tmp_path, BOTSETTINGS_BOTS_YAML=str(files["empty"]))

    def run(*args: str, code: int = 0, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return run_cli(*args, env={**shell, **(env or {})}, code=code, input=input)
    return run
