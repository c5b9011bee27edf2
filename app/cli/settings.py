"""list / get / set / unset: stored values of one scope."""

from __future__ import annotations

import click

from app.cli.effective import explain as explain_key
from app.cli.history import point_option
from app.cli.output import default_actor, emit_json, run, show, table
from app.cli.scope_option import chosen_scope, scope_options
from app.domain.events import ChangeResult, Source
from app.domain.registry import REGISTRY, canonical_key
from app.domain.scopes import Scope
from app.domain.values import parse_text
from app.runtime import Runtime


@click.command("list")
@scope_options
@click.option("--as-of", default=None, help="At a past point: a revision, a timestamp or a span (24h).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_cmd(bot: str | None, global_: bool, as_of: str | None, as_json: bool) -> None:
    """List the values stored in a scope (not inherited ones), now or --as-of a past point."""
    scope = chosen_scope(bot, global_)
    if as_of is not None:
        list_past(scope, as_of, as_json)
        return
    view = run(lambda rt: rt.service.scope_view(scope))
    if as_json:
        emit_json(view)
        return
    if not view.values:
        click.echo(f"{scope}: nothing stored (scope revision {view.revision}, head {view.head})")
        return
    table(["key", "value", "version", "revision", "updated by", "updated at"],
          [(v.key, show(v.value), v.key_version, v.revision, v.updated_by, f"{v.updated_at:%Y-%m-%d %H:%M:%S}")
           for v in view.values])
    click.echo(f"\n{scope}: {len(view.values)} stored, scope revision {view.revision}, head {view.head}")


def list_past(scope: Scope, as_of: str, as_json: bool) -> None:
    point = point_option("as-of", as_of)
    assert point is not None
    past = run(lambda rt: rt.services.history.state_at(point, scope))
    if as_json:
        emit_json(past)
        return
    values = past.scopes.get(str(scope), {})
    table(["key", "value"], [(k, show(v)) for k, v in sorted(values.items())])
    when = f" (committed {past.recorded_at:%Y-%m-%d %H:%M:%S})" if past.recorded_at else ""
    click.echo(f"\n{scope} at revision {past.revision}{when}: {len(values)} stored; head {past.head}")


@click.command("get")
@click.argument("key")
@scope_options
@click.option("--explain", is_flag=True, help="Show every layer's value and which one wins.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def get_cmd(key: str, bot: str | None, global_: bool, explain: bool, as_json: bool) -> None:
    """Show the value of KEY stored in a scope; with --explain, how it resolves."""
    scope = chosen_scope(bot, global_)
    if explain:
        explain_key(key, None if scope.is_global else scope.id, as_json)
        return
    view = run(lambda rt: rt.service.key_view(scope, key))
    if as_json:
        emit_json(view)
    elif view.present:
        click.echo(show(view.value))
    else:
        click.echo(f"{view.key} is not set in {scope} (it inherits)", err=True)
        raise SystemExit(1)


@click.command("set")
@click.argument("key")
@click.argument("value")
@scope_options
@click.option("--reason", default="", help="Why: kept in the audit log.")
@click.option("--actor", default=None, help="Who: recorded on the event (default: $USER@host).")
@click.option("--bypass-approval", "bypass", default=None, metavar="REASON",
              help="Write a scope BOTSETTINGS_REQUIRE_APPROVAL protects without a change request (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def set_cmd(key: str, value: str, bot: str | None, global_: bool, reason: str, actor: str | None,
            bypass: str | None, as_json: bool) -> None:
    """Set KEY to VALUE in a scope. VALUE is read as JSON (0.5, true, ["a"], {"k": 1}),
    or as a plain string for string keys."""
    scope = chosen_scope(bot, global_)
    canonical, _ = canonical_key(key)
    defn = REGISTRY.get(canonical)
    parsed = parse_text(defn, value) if defn else value

    async def work(rt: Runtime) -> ChangeResult:
        return await rt.service.set_value(scope, key, parsed, actor=actor or default_actor(), reason=reason,
                                          source=Source.CLI, bypass=bypass)
    print_change(run(work), as_json)


@click.command("unset")
@click.argument("key")
@scope_options
@click.option("--reason", default="", help="Why: kept in the audit log.")
@click.option("--actor", default=None, help="Who: recorded on the event (default: $USER@host).")
@click.option("--bypass-approval", "bypass", default=None, metavar="REASON",
              help="Write a scope BOTSETTINGS_REQUIRE_APPROVAL protects without a change request (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def unset_cmd(key: str, bot: str | None, global_: bool, reason: str, actor: str | None, bypass: str | None,
              as_json: bool) -> None:
    """Delete KEY from a scope, so that it inherits again."""
    scope = chosen_scope(bot, global_)

    async def work(rt: Runtime) -> ChangeResult:
        return await rt.service.delete_value(scope, key, actor=actor or default_actor(), reason=reason,
                                             source=Source.CLI, bypass=bypass)
    print_change(run(work), as_json)


def print_change(result: ChangeResult, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if not result.changed:
        click.echo("nothing changed: the stored value already matches (no event appended)")
        return
    for item in result.items:
        if item.changed:
            after = "deleted (inherits)" if item.op == "delete" else show(item.value)
            click.echo(f"{item.scope} {item.key}: {show(item.previous) if item.previous is not None else '-'}"
                       f" → {after}  (version {item.key_version}, revision {item.revision})")
    click.echo(f"change {result.change_id}, head revision {result.head}")


COMMANDS = [list_cmd, get_cmd, set_cmd, unset_cmd]
