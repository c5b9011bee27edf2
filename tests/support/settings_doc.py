"""docs/settings.md, rendered from the built-in registry (app/domain/registry_defaults.py).

Regenerate after a registry change: ``uv run python -m tests.support.settings_doc``;
tests/unit/test_settings_doc.py fails while the page is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.domain.registry import BUILTIN, SLUG_TITLE, Category

PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    lines = [
        "# Settings: the key inventory",
        "",
        "Every key of the built-in registry (`app/domain/registry_defaults.py`), generated",
        "from it, in registry order: its type and bounds, its default, the scopes it may be",
        "stored in, the bot types it applies to (`global only`: the global scope alone), the",
        "environment variables of the environment layer and its legacy names (an old name",
        "that is not a key itself is mapped to it, read and written under it with the",
        "transform shown; see [the key registry](keys.md#renames)). Operators",
        "may define, change and retire keys at run time ([the key registry](keys.md));",
        "`botsettings keys list` shows the registry a deployment has now. `infra` and",
        "`secret` keys stay in the environment and are refused by every write path. How a",
        "value is chosen among the layers is in [Resolution](resolution.md).",
        "",
    ]
    for category in Category:
        defs = [d for d in BUILTIN.defs.values() if d.category is category]
        if not defs:
            continue
        lines += [f"## {category.value}", "",
                  "| key | type | default | scopes | applies to | environment | legacy names | what it does |",
                  "|---|---|---|---|---|---|---|---|"]
        for d in defs:
            default = "the slug, capitalised" if d.default == SLUG_TITLE else f"`{json.dumps(d.default)}`"
            scopes = ", ".join(sorted(s.value for s in d.scopes))
            env = ", ".join(f"`{e}`" for e in d.env)
            legacy = ", ".join(f"`{name}`" + (f" ({d.transform_for(name)})" if d.transform_for(name) != "identity"
                                              else "") for name in d.shown_legacy_keys)
            applies = "—" if not d.scopes else ("global only" if not d.applies_to else ", ".join(d.applies_to))
            what = d.description + (f" ({d.unit})" if d.unit else "")
            lines.append(f"| `{d.key}` | {_cell(d.describe_type())} | {_cell(default)} | {scopes} | {applies} | "
                         f"{env} | {legacy} | {_cell(what)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE}")
