"""`migrate --from-platform-db` and `platform attach | detach | status`: adopting a
running platform from its own settings tables (docs/adoption.md, "Adopting a running
platform")."""

from __future__ import annotations

import click

from app.cli.output import emit_json, print_result, run, show
from app.domain.platform_import import Fate, PlatformPlan, Progress
from app.services.platform import PlatformOutcome

_MARK = {Fate.ADD: "+", Fate.DIFFERS: "~", Fate.UNCHANGED: "=", Fate.REFUSED: "!"}


def migrate_from_platform(url: str | None, *, overwrite: bool, dry_run: bool, actor: str, reason: str,
                          as_json: bool, progress: Progress) -> None:
    outcome: PlatformOutcome = run(lambda rt: rt.services.platform.migrate(
        url, overwrite=overwrite, dry_run=dry_run, actor=actor, reason=reason, progress=progress))
    if as_json:
        emit_json(outcome)
        return
    print_platform_plan(outcome.plan)
    counts = outcome.plan.counts()
    summary = (f"{len(outcome.plan.rows)} row(s) from {outcome.source_database}: {counts['add']} to add, "
               f"{counts['differs']} differ ({'overwritten' if outcome.plan.overwrite else 'skipped'}), "
               f"{counts['unchanged']} unchanged, {counts['refused']} refused")
    print_result(summary, outcome.dry_run, outcome.result)


def print_platform_plan(plan: PlatformPlan) -> None:
    for row in plan.rows:
        where = f"{row.table} #{row.row_id} {row.name}"
        target = f" → {row.scope} {row.key}" if row.key else (f" ({row.scope})" if row.scope else "")
        if row.fate is Fate.ADD:
            detail = f" = {show(row.value)}"
        elif row.fate is Fate.DIFFERS:
            action = "overwrite" if plan.overwrite else "skip (stored value kept; --overwrite replaces it)"
            detail = f": stored {show(row.stored)}, platform {show(row.value)} → {action}"
        elif row.fate is Fate.UNCHANGED:
            detail = ": unchanged"
        else:
            detail = f": refused, {row.reason}"
        click.echo(f"  {_MARK[row.fate]} {where}{target}{detail}")


@click.group("platform")
def platform_group() -> None:
    """Serve the platform's own tables (runtime_settings, bot_profiles) from botsettings, in
    place: `attach` makes them follow the settings log and sends the platform's writes
    through it, `detach` makes them plain tables again."""


@platform_group.command("attach")
@click.option("--force", is_flag=True, help="Attach even if the platform's tables hold values botsettings does not.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def attach_cmd(force: bool, as_json: bool) -> None:
    """Copy the platform's tables to *_platform_backup, rewrite them to botsettings' current
    state and keep them so: the platform's writes are validated and appended to the log
    (source platform_table) by triggers, and botsettings' changes are copied into them at
    commit. Run `migrate --from-platform-db` first."""
    report = run(lambda rt: rt.services.platform.attach(force=force))
    if as_json:
        emit_json(report)
        return
    click.echo(f"attached: runtime_settings holds {report.settings_rows} row(s), bot_profiles {report.profile_rows}")
    if report.extra_columns:
        click.echo(f"bot_profiles columns kept as the platform writes them, without history: "
                   f"{', '.join(report.extra_columns)}")
    click.echo("the platform's processes need no restart: their next query reads botsettings")


@platform_group.command("detach")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def detach_cmd(as_json: bool) -> None:
    """Drop the triggers and functions attach installed: the platform's tables are plain
    tables again, holding the current state. The *_platform_backup copies stay."""
    counts = run(lambda rt: rt.services.platform.detach())
    if as_json:
        emit_json(counts)
        return
    click.echo(f"detached: runtime_settings holds {counts['settings_rows']} row(s), "
               f"bot_profiles {counts['profile_rows']}")


@platform_group.command("status")
def status_cmd() -> None:
    """attached, detached (the platform's real tables) or absent."""
    click.echo(run(lambda rt: rt.services.platform.status()))


COMMANDS = [platform_group]
