"""How the CLI prints: tables for people, JSON for scripts, and errors → exit codes
(the one place they are mapped)."""

from __future__ import annotations

import asyncio
import getpass
import json
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click
import msgspec

from app.config import Config, ConfigError
from app.domain.errors import BotSettingsError, Conflict, NotFound, TooLarge, Unavailable, ValidationFailed
from app.domain.events import ChangeResult
from app.logging import configure_logging
from app.runtime import Runtime

T = TypeVar("T")

# Exit codes, documented in docs/cli.md.
EXIT_INVALID = 3
EXIT_CONFLICT = 4
EXIT_NOT_FOUND = 5
EXIT_UNAVAILABLE = 6
_EXIT = {ValidationFailed: EXIT_INVALID, TooLarge: EXIT_INVALID, Conflict: EXIT_CONFLICT,
         NotFound: EXIT_NOT_FOUND}


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def run(work: Callable[[Runtime], Awaitable[T]], *, verbose: bool = False) -> T:
    """Start a runtime (database, schema, service), run ``work``, close; map errors to exits."""
    try:
        config = Config.from_env()
    except ConfigError as exc:
        fail(str(exc), 2)
    configure_logging("console" if verbose else config.log_format, "info" if verbose else "warning")

    async def main() -> T:
        runtime = await Runtime.start(config)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        fail(str(exc), 2)
    except BotSettingsError as exc:
        report_error(exc)
        sys.exit(next((code for t, code in _EXIT.items() if isinstance(exc, t)), EXIT_INVALID))
    except Exception as exc:
        if isinstance(exc, Unavailable):
            fail(f"the database is unavailable ({exc}); nothing was written", EXIT_UNAVAILABLE)
        raise


def report_error(exc: BotSettingsError) -> None:
    click.secho(f"error: {exc.message}", fg="red", err=True)
    if len(exc.errors) > 1 or (exc.errors and exc.errors[0].message != exc.message):
        for e in exc.errors:
            click.echo(f"  - {e.key}: {e.message}", err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def emit_json(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def show(value: Any) -> str:
    """A value as the user would type it back: JSON, except bare strings."""
    if isinstance(value, str):
        return value if value and "\n" not in value and len(value) <= 80 else json.dumps(value)[:80]
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.secho("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), bold=True)
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_result(summary: str, dry_run: bool, result: ChangeResult | None) -> None:
    """The last lines of an import: what was (or would be) written, and the change."""
    if dry_run:
        click.echo(f"\ndry run: nothing written. {summary}")
    elif result is None:
        click.echo(f"\nnothing to do: the database already holds these values. {summary}")
    else:
        click.echo(f"\n{summary}")
        click.echo(f"applied change {result.change_id}: {sum(1 for i in result.items if i.changed)} event(s), "
                   f"revisions {result.first_revision}…{result.last_revision}, head {result.head}")
