"""token create: new API secrets, shown once, and the line for the tokens file."""

from __future__ import annotations

import click

from app.cli.output import emit_json, fail
from app.domain.access import Role, new_secret, parse_role, token_line


@click.group("token")
def token_group() -> None:
    """API tokens. They live in the file named by BOTSETTINGS_TOKENS_FILE, one per
    line: NAME ROLE sha256:HASH [BOT,BOT…]. The file holds hashes, never secrets."""


@token_group.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.label for r in Role]),
              help="reader: reads only. writer: changes to bot scopes. admin: everything, global scope included.")
@click.option("--bots", default=None, metavar="SLUG,SLUG",
              help="Limit the token to these bots (reads and changes of other bots are refused).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def create_cmd(name: str, role: str, bots: str | None, as_json: bool) -> None:
    """Make a new secret for NAME and print it once, with the line to add to the tokens file.

    Nothing is stored: append the line to the file and restart the service. The
    secret cannot be shown again; the file only keeps its hash.
    """
    secret = new_secret()
    try:
        line = token_line(name, parse_role(role), secret, bots.split(",") if bots else None)
    except ValueError as exc:
        fail(str(exc), 3)
    if as_json:
        emit_json({"name": name, "role": role, "secret": secret, "line": line})
        return
    click.echo(f"secret for {name} (shown once; send it as 'Authorization: Bearer <secret>'):\n\n  {secret}\n")
    click.echo(f"add this line to the tokens file (BOTSETTINGS_TOKENS_FILE):\n\n  {line}")


COMMANDS = [token_group]
