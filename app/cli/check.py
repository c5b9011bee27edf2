"""check: every bot's effective configuration against its model (docs/models.md)."""

from __future__ import annotations

import sys

import click

from app.cli.output import emit_json, run, table
from app.domain.model_limits import BotCheck
from app.runtime import Runtime

EXIT_BOT_FAILS = 1  # documented in docs/cli.md


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def check_cmd(as_json: bool) -> None:
    """Check every bot's effective settings against its model in the catalogue (the
    `models` setting): history budget + max_output_tokens within the context window,
    max_output_tokens within the model's output limit, temperature and top_p within
    its ranges, a default_model the catalogue knows. Exits 1 when a bot fails."""
    async def work(rt: Runtime) -> list[BotCheck]:
        return rt.service.check_models()

    checks = run(work)
    failing = [c for c in checks if not c.ok]
    if as_json:
        emit_json({"ok": not failing, "bots": checks})
    else:
        table(["bot", "model", "result"],
              [[c.bot, c.model or "-", "ok" if c.ok else f"{len(c.violations)} problem(s)"] for c in checks])
        for c in failing:
            for v in c.violations:
                click.secho(f"{v.message}", fg="red", err=True)
        click.echo(f"{len(checks) - len(failing)} of {len(checks)} bot(s) fit their models")
    if failing:
        sys.exit(EXIT_BOT_FAILS)


COMMANDS = [check_cmd]
