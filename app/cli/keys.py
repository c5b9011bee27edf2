"""keys list|show|define|retire|history|import: the key registry — every key's type,
default, where it applies and its legacy names — and its changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx

from app.cli.output import EXIT_INVALID, default_actor, emit_json, fail, run, show, table
from app.domain.audit import HistoryPage
from app.domain.events import ChangeResult, Source
from app.domain.registry_views import KeyDoc
from app.runtime import Runtime


@click.group("keys")
def keys() -> None:
    """The key registry: what every setting is, where it applies, its legacy names."""


@keys.command("list")
@click.option("--bot-type", type=click.Choice(["chat", "agent"]), default=None,
              help="Only the keys that apply to bots of this type.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_keys(bot_type: str | None, as_json: bool) -> None:
    """List every key: type, default, where it applies (chat, agent, global only), legacy names."""
    async def work(rt: Runtime) -> list[KeyDoc]:
        return await rt.services.registry.keys(bot_type)
    docs = run(work)
    if as_json:
        emit_json(docs)
        return
    table(["key", "type", "default", "applies to", "legacy names"],
          [(d.key, d.type_text, show(d.default), _where(d), ", ".join(d.legacy_keys)) for d in docs])


@keys.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show_key(key: str, as_json: bool) -> None:
    """One key's whole definition (a legacy name shows the key it was renamed to)."""
    async def work(rt: Runtime) -> KeyDoc:
        return await rt.services.registry.key(key)
    d = run(work)
    if as_json:
        emit_json(d)
        return
    rows = [("key", d.key), ("label", d.label), ("type", d.type_text), ("default", show(d.default)),
            ("applies to", _where(d)), ("scopes", ", ".join(d.scopes) or "none (environment only)"),
            ("storage", d.storage), ("help", d.help), ("environment", ", ".join(d.env)),
            ("legacy names", ", ".join(d.legacy_keys)), ("origin", d.origin)]
    rows += [(f"renamed from {old}", how) for old, how in d.renames.items()]
    table(["", ""], rows)


def _where(d: KeyDoc) -> str:
    if d.category in ("infra", "secret"):
        return f"environment ({d.category})"
    if d.global_only:
        return "global only"
    return ", ".join(d.applies_to)



# The default `keys define KEY --type T` gives a new key when --default is not given.
_EMPTY: dict[str, object] = {"str": "", "str_list": []}


@keys.command("define")
@click.argument("key")
@click.argument("definition", required=False)
@click.option("--type", "kind", default=None,
              help="The key's type (int, float, bool, str, enum, str_list, json), for a definition "
                   "without the JSON form.")
@click.option("--default", "default", default=None,
              help="Its default, as JSON (e.g. 20, \"x\", null); with --type str or str_list, empty unless given.")
@click.option("--label", default=None, help="A short label.")
@click.option("--help-text", "help_text", default=None, help="What the key does.")
@click.option("--reason", default="", help="Why (kept in the log).")
@click.option("--actor", default=None, help="Who (default: $USER).")
def define_key(key: str, definition: str | None, kind: str | None, default: str | None, label: str | None,
               help_text: str | None, reason: str, actor: str | None) -> None:
    """Define KEY, or change its definition. Either a JSON object DEFINITION (type,
    default, applies_to, scopes, label, help, minimum, maximum, choices, nullable,
    legacy, renames, ui_widget, …; given fields replace the current ones), or the
    options: `botsettings keys define my_key --type str --default '""'`. One change in
    the log."""
    doc: dict[str, object] = {}
    if definition is not None:
        try:
            parsed = json.loads(definition)
        except ValueError as exc:
            fail(f"the definition is not JSON: {exc}", EXIT_INVALID)
        if not isinstance(parsed, dict):
            fail("the definition must be a JSON object, e.g. '{\"type\": \"str\"}'", EXIT_INVALID)
        doc.update(parsed)
    if default is not None:
        try:
            doc["default"] = json.loads(default)
        except ValueError:
            doc["default"] = default  # a bare word is a string: --default hello
    for name, given in (("type", kind), ("label", label), ("help", help_text)):
        if given is not None:
            doc[name] = given
    if not doc:
        fail("give a definition: a JSON object, or at least --type (e.g. --type str)", EXIT_INVALID)
    if definition is None and default is None and kind in _EMPTY:
        doc["default"] = _EMPTY[kind]  # a text or a list has a natural empty default; numbers do not

    async def work(rt: Runtime) -> ChangeResult:
        return await rt.services.registry.define(key, doc, actor=actor or default_actor(), reason=reason,
                                                 source=Source.CLI)
    _report(run(work))


@keys.command("retire")
@click.argument("key")
@click.option("--reason", default="", help="Why (kept in the log).")
@click.option("--actor", default=None, help="Who (default: $USER).")
def retire_key(key: str, reason: str, actor: str | None) -> None:
    """Retire KEY: it leaves the registry (writes of it are refused); its values stay in the log."""
    async def work(rt: Runtime) -> ChangeResult:
        return await rt.services.registry.retire(key, actor=actor or default_actor(), reason=reason,
                                                 source=Source.CLI)
    _report(run(work))


@keys.command("history")
@click.argument("key")
def key_history(key: str) -> None:
    """Every change of KEY's definition: revision, when, who, why."""
    async def work(rt: Runtime) -> HistoryPage:
        return await rt.services.registry.history(key)
    page = run(work)
    table(["revision", "at", "who", "why", "definition"],
          [(e.revision, f"{e.recorded_at:%Y-%m-%d %H:%M:%S}", e.actor, e.reason, show(e.value)) for e in page.events])
    if not page.events:
        click.echo(f"{key}: built in, never changed")


@keys.command("import")
@click.argument("source")
@click.option("--dry-run", is_flag=True, help="Show each key's fate; write nothing.")
@click.option("--reason", default="", help="Why (kept in the log).")
@click.option("--actor", default=None, help="Who (default: $USER).")
def import_keys(source: str, dry_run: bool, reason: str, actor: str | None) -> None:
    """Define the keys of a platform's schema — a JSON file, or the platform's
    GET /v1/config/schema URL — that differ from the registry, in one change."""
    doc = _read_schema(source)
    async def work(rt: Runtime) -> tuple[dict[str, str], ChangeResult | None]:
        return await rt.services.registry.import_schema(doc, dry_run=dry_run, actor=actor or default_actor(),
                                                        reason=reason)
    fates, result = run(work)
    table(["key", "fate"], sorted(fates.items()))
    counts = {f: list(fates.values()).count(f) for f in ("added", "changed", "unchanged")}
    click.echo(f"\n{counts['added']} added, {counts['changed']} changed, {counts['unchanged']} unchanged"
               + (" (dry run: nothing written)" if dry_run else ""))
    if result is not None:
        _report(result)


def _read_schema(source: str) -> dict[str, Any]:
    try:
        if source.startswith(("http://", "https://")):
            response = httpx.get(source, timeout=10.0)
            response.raise_for_status()
            doc = response.json()
        else:
            doc = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError, httpx.HTTPError) as exc:
        fail(f"cannot read the schema from {source}: {exc}", EXIT_INVALID)
    if not isinstance(doc, dict):
        fail(f"{source}: expected a JSON object (the platform's schema)", EXIT_INVALID)
    return doc


def _report(result: ChangeResult) -> None:
    if result.changed:
        click.echo(f"applied change {result.change_id} at revision {result.last_revision}")
    else:
        click.echo("nothing changed: the registry already says so")


COMMANDS = [keys]
