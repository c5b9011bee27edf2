"""effective / get --explain: resolved values and where they come from."""

from __future__ import annotations

from typing import Any

import click

from app.cli.output import emit_json, run, show, table
from app.domain.registry import REGISTRY, canonical_key
from app.domain.resolution import LayerReading, Snapshot
from app.domain.values import parse_text
from app.runtime import Runtime


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--override")
        key, _ = canonical_key(name.strip())
        defn = REGISTRY.get(key)
        overrides[key] = parse_text(defn, text) if defn else text
    return overrides


@click.command("effective")
@click.option("--bot", "bot", metavar="SLUG", required=True, help="The bot, e.g. --bot mira.")
@click.option("--key", "keys", multiple=True, metavar="KEY", help="Only these keys (repeatable).")
@click.option("--override", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A request override, as the chat endpoint would apply it (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def effective_cmd(bot: str, keys: tuple[str, ...], pairs: tuple[str, ...], as_json: bool) -> None:
    """Every setting of a bot as it resolves now, with the layer it comes from
    (request, bot, global, yaml, env or default)."""
    overrides = parse_overrides(pairs)

    async def work(rt: Runtime) -> Snapshot:
        return rt.service.snapshot(bot, overrides)
    snap = run(work)
    chosen = [canonical_key(k)[0] for k in keys] or list(snap)
    unknown = [k for k in chosen if k not in snap.values]
    if unknown:
        raise click.BadParameter(f"not a setting a bot has: {', '.join(unknown)}", param_hint="--key")
    if as_json:
        emit_json({"bot": bot, "revision": snap.revision, "stale": snap.stale, "settings": snap.as_dict(chosen)})
        return
    table(["key", "value", "source"], [(k, show(snap[k]), snap.source(k)) for k in chosen])
    click.echo(f"\n{bot} at revision {snap.revision}")


def print_explain(key: str, target: str, revision: int, readings: list[LayerReading], as_json: bool) -> None:
    winner = next(r for r in readings if r.present)
    if as_json:
        emit_json({"key": key, "scope": target, "revision": revision, "value": winner.value,
                   "source": winner.layer.value,
                   "layers": [{"layer": r.layer.value, "present": r.present, "value": r.value} for r in readings]})
        return
    click.echo(f"{key} for {target} at revision {revision}: {show(winner.value)} (from {winner.layer.value})")
    table(["", "layer", "value"], [("→" if r is winner else "", r.layer.value, show(r.value) if r.present else "-")
                                   for r in readings])


def explain(key: str, slug: str | None, as_json: bool) -> None:
    async def work(rt: Runtime) -> tuple[int, list[LayerReading]]:
        return rt.service.revision, rt.service.explain(slug, key)
    revision, readings = run(work)
    print_explain(canonical_key(key)[0], f"bots/{slug}" if slug else "global", revision, readings, as_json)


COMMANDS = [effective_cmd]
