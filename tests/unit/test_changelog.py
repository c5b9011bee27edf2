"""CHANGELOG.md keeps the Keep a Changelog shape, and the declared version has an entry."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def test_the_changelog_starts_with_unreleased_and_lists_the_declared_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert releases[0] == "Unreleased"
    assert declared in releases, f"pyproject.toml declares {declared}, which CHANGELOG.md does not list"
    assert "keepachangelog.com" in text
    for heading in re.findall(r"^### (.+)$", text, flags=re.M):
        assert heading in SECTIONS, f"{heading!r} is not a Keep a Changelog section ({', '.join(SECTIONS)})"
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    assert re.search(r"^- ", unreleased, flags=re.M), "the Unreleased section lists no change"
