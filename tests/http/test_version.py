"""The version from the package metadata: `--version`, /healthz, the OpenAPI document, the page footer."""

from __future__ import annotations

import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app import version as version_module
from app.api.app import create_app
from app.cli.main import cli
from app.config import Config
from app.runtime import Runtime
from bench.process import BIN
from tests.support.server import served

ROOT = Path(__file__).resolve().parents[2]
# What pyproject.toml declares is what the installed metadata says, and what every place shows.
DECLARED = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_comes_from_the_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    assert version_module.VERSION == DECLARED
    monkeypatch.setattr(version_module, "version", lambda name: f"9.8.7+{name}")
    assert version_module.package_version() == "9.8.7+botsettings"

    def missing(name: str) -> str:
        raise PackageNotFoundError(name)
    monkeypatch.setattr(version_module, "version", missing)
    assert version_module.package_version() == "0+unknown"


def test_cli_version_option_prints_it() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"botsettings, version {DECLARED}\n"
    done = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"botsettings, version {DECLARED}"


async def test_healthz_openapi_and_the_page_footer_show_it(config: Config, runtime: Runtime) -> None:
    async with served(create_app(config, runtime)) as url, httpx.AsyncClient(base_url=url) as http:
        health = (await http.get("/healthz")).json()
        schema = (await http.get("/schema/openapi.json")).json()
        pages = [await http.get(path) for path in ("/", "/bots/mira", "/history", "/jobs")]
    assert health == {"status": "ok", "version": DECLARED}
    assert schema["info"]["version"] == DECLARED
    assert schema["paths"]["/healthz"]["get"]["summary"] == "The process is up, and the version it runs"
    for page in pages:
        assert page.status_code == 200
        assert f'<footer class="foot">botsettings <span class="version">{DECLARED}</span></footer>' in page.text
