"""The layer rules of docs/architecture.md are enforced by import-linter contracts
(pyproject.toml, run by .ci/run). These tests show that they hold on the tree and
that they do catch a violation: a copy of the package with one forbidden import
added must fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS, "import-linter is a dev dependency: uv sync"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([LINT_IMPORTS, "--config", str(tree / "pyproject.toml"), "--no-cache"], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=120)


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("app/web/views.py", "from app.api import schemas as _violation", "never imports the API"),
    ("app/api/bots.py", "from app.store import reader as _violation", "only through services"),
    ("app/domain/scopes.py", "import sqlalchemy as _violation", "The domain is pure"),
    ("app/store/reader.py", "from app.services import settings as _violation", "The store knows only the domain"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    tree = copy_of_the_package(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if "BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
