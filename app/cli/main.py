"""The `botsettings` command."""

from __future__ import annotations

import click

from app.cli import (
    admin,
    adoption,
    bot_editor,
    change_requests,
    check,
    effective,
    history,
    jobs,
    keys,
    platform,
    prepare,
    replies,
    settings,
    tokens,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="botsettings", prog_name="botsettings")  # from the package metadata
def cli() -> None:
    """botsettings: event-sourced settings for LLM chat bots.

    Uses DATABASE_URL when set, otherwise an embedded PostgreSQL in BOTSETTINGS_DATA_DIR.
    Scopes: --bot SLUG or --global. Every change is appended to the audit log.
    """


for command in [*settings.COMMANDS, *effective.COMMANDS, *admin.COMMANDS, *history.COMMANDS, *adoption.COMMANDS,
                *bot_editor.COMMANDS, *prepare.COMMANDS, *jobs.COMMANDS, *tokens.COMMANDS,
                *platform.COMMANDS, *keys.COMMANDS, *replies.COMMANDS, *check.COMMANDS,
                *change_requests.COMMANDS]:
    cli.add_command(command)


def main() -> None:
    cli()
