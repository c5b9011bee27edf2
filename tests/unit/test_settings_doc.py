"""docs/settings.md is the registry, rendered: it cannot drift from the code."""

from __future__ import annotations

from tests.support.settings_doc import PAGE, render


def test_the_settings_page_matches_the_registry() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/settings.md is stale: run `uv run python -m tests.support.settings_doc`")


def test_the_page_names_every_key() -> None:
    from app.domain.registry import REGISTRY

    text = PAGE.read_text(encoding="utf-8")
    assert all(f"| `{key}` |" in text for key in REGISTRY)
