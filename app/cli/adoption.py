"""migrate / bootstrap / export / import / rename-key: moving settings in and out in bulk.

Every command plans first (the same plan prints as the --dry-run report and is what
the real run writes) and then writes ONE change. Running it again with the same
input writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from app.cli.history import point_option
from app.cli.output import default_actor, emit_json, print_result, run, show
from app.cli.platform import migrate_from_platform
from app.domain.adoption import AdoptionPlan, Progress
from app.domain.intake import env_names, parse_env_file
from app.services.adoption import Outcome, RenameOutcome


def common_write_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--dry-run", is_flag=True, help="Print the report; write nothing."),
        click.option("--reason", default="", help="Why: kept in the audit log."),
        click.option("--actor", default=None, help="Who: recorded on the change (default: $USER@host)."),
        click.option("--json", "as_json", is_flag=True, help="Print the plan and the change as JSON."),
    ]):
        func = option(func)
    return func


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A progress bar on stderr for large imports, only when stderr is a terminal."""
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < 50 or not sys.stderr.isatty():
            return
        if "bar" not in state:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(done - state.get("done", 0))
        state["done"] = done

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


@click.command("migrate")
@click.option("--from-env", "from_env", is_flag=True,
              help="Import LLM_BAWT_* environment variables as global settings.")
@click.option("--env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A dotenv file read as the environment (implies --from-env); variables set in the "
                   "process environment win over it, as with python-dotenv.")
@click.option("--from-bots-yaml", "yaml_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A bots.yaml; each bot's settings (over the template) and profile become its bot-scope "
                   "settings. Repeat to layer a user file over the project's.")
@click.option("--from-platform-db", "platform_db", is_flag=False, flag_value="", default=None, metavar="[URL]",
              help="Import the platform's runtime_settings and bot_profiles tables from the database at URL "
                   "(without URL: this database). The tables are only read.")
@click.option("--overwrite", is_flag=True, help="Replace stored values that differ (default: keep them, skip).")
@common_write_options
def migrate_cmd(from_env: bool, env_file: Path | None, yaml_paths: tuple[Path, ...], platform_db: str | None,
                overwrite: bool, dry_run: bool, reason: str, actor: str | None, as_json: bool) -> None:
    """Import the platform's environment and bots.yaml into the database, as ONE change
    (source `migration`). Values already stored are kept unless --overwrite; unknown keys,
    infrastructure, secrets and bad values are reported and ignored. Run with --dry-run
    first: it prints exactly what the real run will do."""
    if platform_db is not None:
        if from_env or env_file or yaml_paths:
            raise click.UsageError("--from-platform-db is a migration of its own: run it apart from --from-env "
                                   "and --from-bots-yaml")
        with progress_bar("planning") as progress:
            migrate_from_platform(platform_db or None, overwrite=overwrite, dry_run=dry_run,
                                  actor=actor or default_actor(), reason=reason, as_json=as_json, progress=progress)
        return
    if not (from_env or env_file or yaml_paths):
        raise click.UsageError("say what to import: --from-env and/or --from-bots-yaml PATH "
                               "(or --from-platform-db [URL])")
    env: dict[str, str] | None = None
    if from_env or env_file:
        env = parse_env_file(env_file.read_text(encoding="utf-8")) if env_file else {}
        env.update(env_names(os.environ))  # the process environment wins, as the platform's dotenv does
    documents = [(str(p), p.read_text(encoding="utf-8")) for p in yaml_paths]
    with progress_bar("planning") as progress:
        outcome = run(lambda rt: rt.services.adoption.migrate(
            env=env, yaml_documents=documents, overwrite=overwrite, dry_run=dry_run, actor=actor or default_actor(),
            reason=reason, progress=progress))
    print_outcome(outcome, as_json)


@click.command("bootstrap")
@click.option("--overwrite", is_flag=True, help="Replace stored values that differ (default: keep them, skip).")
@common_write_options
def bootstrap_cmd(overwrite: bool, dry_run: bool, reason: str, actor: str | None, as_json: bool) -> None:
    """Seed the database from what this process resolves without it: the global scope
    from LLM_BAWT_* values over the registry defaults, every bot from its bots.yaml
    settings and profile (BOTSETTINGS_BOTS_YAML). ONE change, source `bootstrap`."""
    with progress_bar("planning") as progress:
        outcome = run(lambda rt: rt.services.adoption.bootstrap(
            overwrite=overwrite, dry_run=dry_run, actor=actor or default_actor(), reason=reason, progress=progress))
    print_outcome(outcome, as_json)


@click.command("export")
@click.option("--bot", "bot", metavar="SLUG", help="Only this bot's scope.")
@click.option("--global", "global_", is_flag=True, help="Only the global scope.")
@click.option("--as-of", default=None, help="The values at a past point: a revision, a timestamp or a span (24h).")
def export_cmd(bot: str | None, global_: bool, as_of: str | None) -> None:
    """Print the stored values (global and every bot, or one scope) as YAML, for
    `botsettings import`. Round-trips exactly: export → import → export is identical.
    With --as-of, the values at that point: importing it restores them."""
    if bot and global_:
        raise click.UsageError("give either --bot SLUG or --global, not both")
    at = point_option("as-of", as_of)
    click.echo(run(lambda rt: rt.services.adoption.export_text(bot_slug=bot, only_global=global_, at=at)), nl=False)


@click.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@common_write_options
def import_cmd(file: Any, dry_run: bool, reason: str, actor: str | None, as_json: bool) -> None:
    """Make every scope named in FILE (an export; `-` reads stdin) exactly what it says, as
    ONE change: listed keys are set, keys the scope stores but FILE does not list are
    deleted. Scopes FILE does not name are left alone."""
    text, name = file.read(), file.name
    with progress_bar("planning") as progress:
        outcome = run(lambda rt: rt.services.adoption.import_text(
            text, name, dry_run=dry_run, actor=actor or default_actor(), reason=reason, progress=progress))
    print_outcome(outcome, as_json)


@click.command("rename-key")
@click.argument("old")
@click.argument("new")
@click.option("--overwrite", is_flag=True, help="Where both names are stored, keep OLD's value.")
@common_write_options
def rename_key_cmd(old: str, new: str, overwrite: bool, dry_run: bool, reason: str, actor: str | None,
                   as_json: bool) -> None:
    """Move values stored under OLD to NEW in every scope, in ONE change. For registry
    renames: a value stored under a retired name is otherwise stored but never read."""
    outcome: RenameOutcome = run(lambda rt: rt.services.adoption.rename_key(
        old, new, overwrite=overwrite, dry_run=dry_run, actor=actor or default_actor(), reason=reason))
    if as_json:
        emit_json(outcome)
        return
    if not outcome.moves:
        click.echo(f"nothing to do: no scope stores '{old}'")
        return
    for move in outcome.moves:
        note = f" (replaces {brief(move.replaces)})" if move.had_new else ""
        click.echo(f"{move.scope}: {old} → {new} = {brief(move.value)}{note}")
    if outcome.dry_run:
        click.echo(f"dry run: nothing written ({len(outcome.moves)} scope(s) would change)")
    elif outcome.result is not None:
        click.echo(f"change {outcome.result.change_id}, head revision {outcome.result.head}")


REASON_TEXT = {"unknown": "unknown", "infra": "infrastructure", "secret": "secret", "wrong_type": "wrong type",
               "wrong_scope": "wrong scope", "misplaced": "misplaced", "superseded": "superseded",
               "not_migrated": "not migrated"}


def print_outcome(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        emit_json(outcome)
        return
    print_plan(outcome.plan)
    counts = outcome.plan.counts()
    differ = f"{counts['differ']} differ ({'overwritten' if outcome.plan.overwrite else 'skipped'})"
    summary = (f"{counts['add']} to add, {differ}, {counts['remove']} to delete, {counts['unchanged']} unchanged, "
               f"{counts['shadowed']} shadowed by the global scope, {counts['ignored']} ignored")
    print_result(summary, outcome.dry_run, outcome.result)


def brief(value: Any) -> str:
    """A value on one line; a long text as its first line and its size."""
    if isinstance(value, str) and ("\n" in value.rstrip("\n") or len(value) > 80):
        first = value.splitlines()[0] if value else ""
        return f"{json.dumps(first[:60], ensure_ascii=False)}… ({len(value)} characters, {value.count(chr(10))} lines)"
    return show(value)


def print_plan(plan: AdoptionPlan) -> None:
    for sp in plan.scopes:
        click.secho(sp.scope, bold=True)
        for key, value in sp.add.items():
            click.echo(f"  + {key} = {brief(value)}")
        for d in sp.differ:
            action = "overwrite" if plan.overwrite else "skip (stored value kept; --overwrite replaces it)"
            click.echo(f"  ~ {d.key}: stored {brief(d.stored)}, incoming {brief(d.incoming)} → {action}")
        for key, value in sp.shadowed.items():
            click.echo(f"  ^ {key} = {brief(value)}: not imported; the bot uses the global scope's stored value "
                       "now, and importing this would change it")
        for key, value in sp.remove.items():
            click.echo(f"  - {key} (stored {brief(value)}) → delete")
        if sp.unchanged:
            click.echo(f"  = unchanged: {', '.join(sp.unchanged)}")
        for item in sp.ignored:
            click.echo(f"  ! {item.name}: ignored, {REASON_TEXT[item.reason.value]}: {item.detail}")
    for warning in plan.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


COMMANDS = [migrate_cmd, bootstrap_cmd, export_cmd, import_cmd, rename_key_cmd]
