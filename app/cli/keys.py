"""keys list / keys show: the key registry — every key's type, default, where it
applies and its legacy names."""

from __future__ import annotations

import click

from app.cli.output import emit_json, run, show, table
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


COMMANDS = [keys]
