"""`botsettings bot edit SLUG`: a bot's profile and settings in $EDITOR, as one change.

The document is made from one snapshot of the bot; the change expects the bot's
scope to be at the revision it was made from, so an edit never overwrites a change
made while the editor was open (exit 4, conflict: edit again).
"""

from __future__ import annotations

import sys

import click

from app.cli.output import EXIT_INVALID, default_actor, report_error, run, show, table
from app.cli.settings import print_change
from app.domain.bot_document import parse_bot_document, plan_bot_edit, render_bot_document, render_diff
from app.domain.bots_yaml import BotsYamlError
from app.domain.errors import BotSettingsError


@click.group("bot")
def bot_group() -> None:
    """A bot's profile and settings as one document."""


@bot_group.command("show")
@click.argument("slug")
def show_cmd(slug: str) -> None:
    """The bot's resolved profile, each field with where it comes from."""
    profile = run(lambda rt: rt.services.bots.bot_profile(slug))
    table(["field", "value", "source"], [(k, show(v.value), v.source) for k, v in profile.profile.items()])


@bot_group.command("edit")
@click.argument("slug")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (the diff is still printed).")
@click.option("--reason", default="", help="Why: kept in the audit log.")
@click.option("--actor", default=None, help="Who: recorded on the change (default: $USER@host).")
def edit_cmd(slug: str, yes: bool, reason: str, actor: str | None) -> None:
    """Edit bot SLUG in $EDITOR (or $VISUAL).

    The document lists the bot's profile and every setting that applies to it, each with
    its effective value and a comment: description, type and bounds, and where the value
    comes from now. Change a value to store it for the bot; delete a key to make the bot
    inherit it; keys left as they are are not stored. On close the document is checked
    (errors name the line, and you can re-open it), the differences are shown, and after
    you confirm they are applied as one change.
    """
    start = run(lambda rt: rt.services.bots.edit_start(slug))
    text = render_bot_document(slug, start.head, start.values)
    while True:
        edited = click.edit(text, extension=".yaml", require_save=False)
        text = text if edited is None else edited
        try:
            values, warnings = parse_bot_document(text, slug)
            break
        except (BotsYamlError, BotSettingsError) as exc:
            report_error(exc)
            if not click.confirm("Re-open the editor to fix it?", default=True, err=True):
                click.echo("nothing written", err=True)
                sys.exit(EXIT_INVALID)
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    changes = plan_bot_edit(start.values, values)
    if not changes:
        click.echo(f"nothing to do: bots/{slug} is unchanged (nothing written)")
        return
    click.secho(f"bots/{slug}: {len(changes)} change(s)", bold=True)
    for line in render_diff(changes):
        click.secho(line, fg={"-": "red", "~": "yellow"}.get(line[:1]))
    if not yes and not click.confirm(f"Apply these {len(changes)} change(s) to bots/{slug} as one change?",
                                     default=False):
        click.echo("cancelled: nothing written")
        sys.exit(1)
    result = run(lambda rt: rt.services.bots.edit_apply(slug, changes, start.revision, actor=actor or default_actor(),
                                       reason=reason))
    print_change(result, False)


COMMANDS = [bot_group]
