"""history / changes / change / diff / rollback / revert: the audit log for operators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from app.cli.output import default_actor, emit_json, run, show, table
from app.cli.scope_option import chosen_scope, scope_options
from app.domain.audit import AuditEvent, EventFilter, RestoreResult, parse_change_id
from app.domain.errors import BotSettingsError
from app.domain.events import Source
from app.domain.history import DiffItem, Point, parse_point
from app.domain.scopes import Scope
from app.runtime import Runtime

POINT_HELP = "a revision (812), a timestamp (2026-11-20T10:00Z, UTC if no zone) or a span back from now (90m, 24h, 2d)"


def optional_scope(bot: str | None, global_: bool) -> Scope | None:
    return chosen_scope(bot, global_) if bot or global_ else None


def point_option(name: str, text: str | None) -> Point | None:
    if text is None:
        return None
    try:
        return parse_point(text, datetime.now(UTC), name)
    except BotSettingsError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{name}") from None


def time_option(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    point = point_option(name, text)
    if point is None or point.time is None:
        raise click.BadParameter(f"expected a timestamp or a span like 24h, got {text!r}", param_hint=f"--{name}")
    return point.time


def _change_id(text: str | None) -> Any:
    try:
        return parse_change_id(text) if text else None
    except BotSettingsError as exc:
        raise click.BadParameter(exc.message, param_hint="--change") from None


def _when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _change_text(e: AuditEvent) -> str:
    before = show(e.previous) if e.had_previous else "-"
    after = "deleted" if e.op == "delete" else show(e.value)
    return f"{before} → {after}"


@click.command("history")
@scope_options
@click.option("--key", default=None, help="Only this key.")
@click.option("--actor", default=None, help="Only changes by this actor.")
@click.option("--source", type=click.Choice([s.value for s in Source]), default=None, help="Only this source.")
@click.option("--change", "change_id", default=None, metavar="ID", help="Only the events of this change.")
@click.option("--since", default=None, help="From this time: a timestamp (2026-11-20T10:00Z) or a span back (24h).")
@click.option("--until", default=None, help="Up to this time (inclusive), in the same forms.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="Events per page.")
@click.option("--cursor", default=None, help="Continue from a previous page's next cursor.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def history_cmd(bot: str | None, global_: bool, key: str | None, actor: str | None, source: str | None,
                change_id: str | None, since: str | None, until: str | None, limit: int, cursor: str | None,
                as_json: bool) -> None:
    """Who changed what, when and why: events newest first, with old and new values."""
    f = EventFilter(scope=optional_scope(bot, global_), key=key, actor=actor, source=source,
                    change_id=_change_id(change_id),
                    since=time_option("since", since), until=time_option("until", until))
    page = run(lambda rt: rt.services.history.history(f, limit, cursor))
    if as_json:
        emit_json(page)
        return
    if not page.events:
        click.echo(f"no events match (head revision {page.head})")
        return
    table(["rev", "when", "scope", "key", "change", "actor", "source", "reason"],
          [(e.revision, _when(e.recorded_at), e.scope, e.key, _change_text(e), e.actor, e.source, e.reason)
           for e in page.events])
    if page.next_cursor:
        click.echo(f"\nmore: --cursor {page.next_cursor}")


@click.command("changes")
@scope_options
@click.option("--actor", default=None, help="Only changes by this actor.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--cursor", default=None, help="Continue from a previous page's next cursor.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def changes_cmd(bot: str | None, global_: bool, actor: str | None, limit: int, cursor: str | None,
                as_json: bool) -> None:
    """List changes newest first (a change is one atomic write of one or more keys)."""
    f = EventFilter(scope=optional_scope(bot, global_), actor=actor)
    page = run(lambda rt: rt.services.history.changes(f, limit, cursor))
    if as_json:
        emit_json(page)
        return
    table(["id", "revisions", "when", "actor", "source", "reason"],
          [(c.id, f"{c.first_revision}…{c.last_revision}", _when(c.recorded_at), c.actor, c.source, c.reason)
           for c in page.changes])
    if page.next_cursor:
        click.echo(f"\nmore: --cursor {page.next_cursor}")


@click.command("change")
@click.argument("change_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def change_cmd(change_id: str, as_json: bool) -> None:
    """Show one change and its events."""
    detail = run(lambda rt: rt.services.history.change(change_id))
    if as_json:
        emit_json(detail)
        return
    c = detail.change
    click.echo(f"change {c.id} by {c.actor} ({c.source}) at {_when(c.recorded_at)}, "
               f"revisions {c.first_revision}…{c.last_revision}")
    if c.reason:
        click.echo(f"reason: {c.reason}")
    table(["rev", "scope", "key", "change"], [(e.revision, e.scope, e.key, _change_text(e)) for e in detail.events])


def print_diff(items: list[DiffItem]) -> None:
    table(["scope", "key", "from", "to"],
          [(i.scope, i.key, show(i.from_) if i.from_present else "(not set)", show(i.to) if i.to_present
            else "(not set: inherits)") for i in items])


@click.command("diff")
@click.option("--from", "start", required=True, help=f"The earlier point: {POINT_HELP}.")
@click.option("--to", "end", default=None, help="The later point (default: now).")
@scope_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def diff_cmd(start: str, end: str | None, bot: str | None, global_: bool, as_json: bool) -> None:
    """What differs between two points in the log."""
    scope, p1, p2 = optional_scope(bot, global_), point_option("from", start), point_option("to", end)

    async def work(rt: Runtime) -> Any:
        assert p1 is not None
        return await rt.services.history.diff(p1, p2 or Point(revision=await rt.service.head()), scope)
    result = run(work)
    if as_json:
        emit_json(result)
        return
    print_diff(result.items)
    click.echo(f"{len(result.items)} difference(s) from revision {result.from_revision} to {result.to_revision}")


def _restore_cmd(plan: Callable[[Runtime, bool], Any], dry_run: bool, yes: bool, as_json: bool) -> None:
    """Show the plan, ask unless --yes, then apply it, all in one process."""
    async def work(rt: Runtime) -> RestoreResult:
        preview: RestoreResult = await plan(rt, True)
        if dry_run or not preview.diff:
            return preview
        if not yes:
            if not as_json:
                _print_restore(preview)
            if not click.confirm("apply this change?", default=False, err=True):
                raise SystemExit(1)
        return await plan(rt, False)  # type: ignore[no-any-return]
    result = run(work)
    if as_json:
        emit_json(result)
    else:
        _print_restore(result)


def _print_restore(r: RestoreResult) -> None:
    print_diff(r.diff)
    for s in r.skipped:
        click.secho(f"skipped {s.scope} {s.key}: {s.message}", fg="yellow", err=True)
    for p in r.model_problems:
        click.secho(f"would be refused: {p.message}", fg="red", err=True)
    if not r.diff:
        click.echo(f"nothing to do: the state already matches {r.target}; nothing appended")
    elif r.change is not None and r.change.changed:
        click.echo(f"applied: change {r.change.change_id}, revisions "
                   f"{r.change.first_revision}…{r.change.last_revision}")
    elif r.dry_run:
        click.echo(f"dry run: {len(r.diff) - len(r.skipped)} key(s) would be restored to {r.target}; "
                   "nothing written")
    else:
        click.echo("nothing written: every difference was skipped")


@click.command("rollback")
@click.option("--to", "to", required=True, help=f"The point to go back to: {POINT_HELP}.")
@scope_options
@click.option("--key", "keys", multiple=True, help="Only these keys (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before applying.")
@click.option("--reason", default="", help="Why: kept in the audit log.")
@click.option("--actor", default=None, help="Who (default: $USER@host).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rollback_cmd(to: str, bot: str | None, global_: bool, keys: tuple[str, ...], dry_run: bool, yes: bool,
                 reason: str, actor: str | None, as_json: bool) -> None:
    """Restore the stored values of a point in time (every scope unless --bot/--global)
    as one new change: history is kept, the rollback is appended to it."""
    point, scope = point_option("to", to), optional_scope(bot, global_)
    assert point is not None

    def plan(rt: Runtime, dry: bool) -> Any:
        return rt.services.history.rollback(point, scope=scope, keys=list(keys) or None, dry_run=dry,
                                            actor=actor or default_actor(), reason=reason)
    _restore_cmd(plan, dry_run, yes, as_json)


@click.command("revert")
@click.argument("change_id")
@click.option("--force", is_flag=True, help="Revert even keys that later changes touched (undoing those too).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before applying.")
@click.option("--reason", default="", help="Why: kept in the audit log.")
@click.option("--actor", default=None, help="Who (default: $USER@host).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def revert_cmd(change_id: str, force: bool, dry_run: bool, yes: bool, reason: str, actor: str | None,
               as_json: bool) -> None:
    """Restore the values change CHANGE_ID replaced, as one new change. Refused (exit 4)
    if a later change touched any of its keys, unless --force."""
    def plan(rt: Runtime, dry: bool) -> Any:
        return rt.services.history.revert(change_id, force=force, dry_run=dry, actor=actor or default_actor(),
                                          reason=reason)
    _restore_cmd(plan, dry_run, yes, as_json)

COMMANDS = [history_cmd, changes_cmd, change_cmd, diff_cmd, rollback_cmd, revert_cmd]
