"""The bot editor's document: one YAML file with a bot's profile and every setting
that applies to it, each hydrated with its effective value and explained by a comment.

Reading it back: a key removed from the document means "inherit" (delete the bot's
own value); a key left at its inherited value is not turned into an override; a
changed value is stored for the bot. Errors point at the line.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.events import Op, Operation, delete_op, same_value, set_op
from app.domain.registry import SettingDef, canonical_key, lookup_writable
from app.domain.resolution import BOT_KEYS, Resolved
from app.domain.scopes import bot
from app.domain.values import validate_value
from app.domain.yaml_text import dump, load_with_lines


def render_bot_document(slug: str, revision: int, values: dict[str, Resolved]) -> str:
    lines = [
        f"# bots/{slug} at revision {revision}: every setting of this bot, with its effective value.",
        "# Change a value to store it for this bot. Delete a key's lines to make the bot inherit it",
        "# (global scope → bots.yaml → environment → default). Keys left as they are stay as they are.",
        "# Save and close the editor to see what will change before anything is applied.",
    ]
    area = None
    for defn in sorted(BOT_KEYS, key=lambda d: d.area != "profile"):  # the profile first, then by area
        if defn.area != area:
            area = defn.area
            lines += ["", f"# ── {area} " + "─" * max(0, 60 - len(area))]
        resolved = values[defn.key]
        lines.append(f"# {_comment(defn, resolved)}")
        lines.append(dump({defn.key: resolved.value}).rstrip("\n"))
    return "\n".join(lines) + "\n"


def _comment(defn: SettingDef, resolved: Resolved) -> str:
    parts = [defn.description or defn.key, defn.describe_type()]
    if defn.unit:
        parts.append(f"unit: {defn.unit}")
    parts.append(f"now from: {resolved.source.value}")
    return " · ".join(parts)


def parse_bot_document(text: str, slug: str) -> tuple[dict[str, Any], list[str]]:
    """The edited values by canonical key, and warnings. ValidationFailed names each
    bad key with its line, so the user can go straight to it."""
    scope = bot(slug)
    doc, lines = load_with_lines(text, "the edited document")
    if doc is None:
        return {}, []
    if not isinstance(doc, dict):
        raise ValidationFailed([FieldError(key="document", message="the document must be a mapping of keys")])
    values: dict[str, Any] = {}
    warnings: list[str] = []
    errors: list[FieldError] = []
    for name, value in doc.items():
        where = f"line {lines.get(str(name), '?')}"
        key, legacy = canonical_key(str(name))
        if legacy:
            warnings.append(f"{where}: {legacy}")
        if key in values:
            errors.append(FieldError(key=key, code="duplicate_key", message=f"{where}: '{key}' is given twice"))
            continue
        try:
            values[key] = validate_value(lookup_writable(key, scope), value)
        except ValidationFailed as exc:
            errors.extend(FieldError(key=e.key, code=e.code, message=f"{where}: {e.message}") for e in exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values, warnings


class EditChange(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    op: Op
    before: Any
    before_source: str
    after: Any = None  # for a set


def plan_bot_edit(values: dict[str, Resolved], edited: dict[str, Any]) -> list[EditChange]:
    """What the edit changes. ``values`` is the bot's snapshot the document was made from."""
    changes: list[EditChange] = []
    for defn in BOT_KEYS:
        now = values[defn.key]
        if defn.key not in edited:
            if now.source.value == "bot":
                changes.append(EditChange(key=defn.key, op=Op.DELETE, before=now.value, before_source="bot"))
        elif not same_value(now.value, edited[defn.key]):
            changes.append(EditChange(key=defn.key, op=Op.SET, before=now.value, before_source=now.source.value,
                                      after=edited[defn.key]))
    return changes


def edit_operations(slug: str, changes: list[EditChange]) -> list[Operation]:
    scope = bot(slug)
    return [set_op(scope, c.key, c.after) if c.op is Op.SET else delete_op(scope, c.key) for c in changes]


def render_diff(changes: list[EditChange]) -> list[str]:
    """Lines a person reads before confirming; long texts as a unified diff."""
    out: list[str] = []
    for c in changes:
        if c.op is Op.DELETE:
            out.append(f"- {c.key}: {_show(c.before)} (stored for the bot) → inherits")
        elif isinstance(c.before, str) and isinstance(c.after, str) and "\n" in c.before + c.after:
            out.append(f"~ {c.key} (was from {c.before_source}):")
            out += ["    " + line.rstrip("\n") for line in difflib.unified_diff(
                c.before.splitlines(keepends=True), c.after.splitlines(keepends=True), "before", "after", n=1)]
        else:
            out.append(f"~ {c.key}: {_show(c.before)} (from {c.before_source}) → {_show(c.after)}")
    return out


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
