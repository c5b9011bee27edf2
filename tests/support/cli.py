"""The operator CLI run in-process through click, against the test's database."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from app.cli.main import cli


def cli_env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an operator's shell: the database, a data directory, a user."""
    return {"DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(data_dir), "USER": "tester", **extra}


def run_cli(*args: str, env: dict[str, str], code: int = 0, input: str | None = None) -> Result:
    """`botsettings ARGS`; fails the test unless it exits with ``code``."""
    result = CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
    assert result.exit_code == code, (result.output, result.stderr)
    return result
