"""The export document: the stored values of some scopes, as YAML.

```yaml
global:
  temperature: 0.5
bots:
  mira:
    system_prompt: |
      You are Mira.
```

`botsettings import` makes every scope named in the document exactly what it says
(keys it does not list are deleted from that scope); scopes it does not name are
left alone. So export → import → export gives the same text, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.domain.errors import FieldError, InvalidScope, ValidationFailed
from app.domain.intake import Incoming
from app.domain.scopes import GLOBAL, Scope, bot
from app.domain.values import validate_items
from app.domain.yaml_text import dump, load_with_lines

HEADER = ("# botsettings export: values stored in the database (inherited ones are not listed).\n"
          "# `botsettings import FILE` makes each scope below exactly this; other scopes are left alone.\n")


def render_export(state: Mapping[Scope, Mapping[str, Any]], *, include_global: bool = True,
                  bots: Iterable[str] | None = None) -> str:
    """``bots=None``: every bot with stored values; otherwise exactly those bots."""
    doc: dict[str, Any] = {}
    if include_global:
        doc["global"] = _sorted(state.get(GLOBAL, {}))
    slugs = sorted(s.id for s, v in state.items() if not s.is_global and v) if bots is None else list(bots)
    if slugs:
        doc["bots"] = {slug: _sorted(state.get(bot(slug), {})) for slug in slugs}
    return HEADER + dump(doc)


def _sorted(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in sorted(values)}


def parse_export(text: str, source: str) -> Incoming:
    """Read an export strictly: every problem is an error naming the scope and key."""
    doc, _ = load_with_lines(text, source)
    if doc is None:
        doc = {}
    errors: list[FieldError] = []
    if not isinstance(doc, dict):
        raise ValidationFailed([FieldError(key="document", message=f"{source}: the top level must be a mapping")])
    for name in doc:
        if name not in ("global", "bots"):
            errors.append(FieldError(key=str(name), code="unknown_section",
                                     message=f"{source}: '{name}' is not a section (use 'global' and 'bots')"))
    sections: list[tuple[Scope, Any]] = []
    if "global" in doc:
        sections.append((GLOBAL, doc["global"]))
    bots_doc = doc.get("bots") or {}
    if not isinstance(bots_doc, dict):
        errors.append(FieldError(key="bots", message=f"{source}: 'bots' must map bot slugs to their settings"))
        bots_doc = {}
    for slug, values in bots_doc.items():
        try:
            sections.append((bot(str(slug)), values))
        except InvalidScope as exc:
            errors.append(FieldError(key=str(slug), code="invalid_scope", message=exc.message))
    incoming = Incoming()
    for scope, values in sections:
        if values is None:
            values = {}
        if not isinstance(values, dict):
            errors.append(FieldError(key=str(scope), scope=str(scope), message=f"{scope} must be a mapping of keys"))
            continue
        try:
            incoming.values[scope], warnings = validate_items(((str(k), v) for k, v in values.items()), scope)
            incoming.warnings.extend(warnings)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return incoming
