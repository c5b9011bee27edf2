"""docs/settings.md, rendered from the registry (app/domain/registry.py).

Regenerate after a registry change: ``uv run python -m tests.support.settings_doc``;
tests/unit/test_settings_doc.py fails while the page is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.domain.registry import REGISTRY, SLUG_TITLE, Category

PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    lines = [
        "# Settings: the key inventory",
        "",
        "Every key the registry declares (`app/domain/registry.py`), generated from it, in",
        "registry order: its type and bounds, its default, the scopes it may be stored in,",
        "the environment variables of the environment layer and the legacy names that are",
        "mapped to it on writes. `infra` and `secret` keys stay in the environment and are",
        "refused by every write path. How a value is chosen among the layers is in",
        "[Resolution](resolution.md).",
        "",
    ]
    for category in Category:
        defs = [d for d in REGISTRY.values() if d.category is category]
        if not defs:
            continue
        lines += [f"## {category.value}", "",
                  "| key | type | default | scopes | environment | legacy names | what it does |",
                  "|---|---|---|---|---|---|---|"]
        for d in defs:
            default = "the slug, capitalised" if d.default == SLUG_TITLE else f"`{json.dumps(d.default)}`"
            scopes = ", ".join(sorted(s.value for s in d.scopes))
            env = ", ".join(f"`{e}`" for e in d.env)
            legacy = ", ".join(f"`{name}`" for name in d.legacy)
            what = d.description + (f" ({d.unit})" if d.unit else "")
            lines.append(f"| `{d.key}` | {_cell(d.describe_type())} | {_cell(default)} | {scopes} | {env} | "
                         f"{legacy} | {_cell(what)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE}")
