"""`--bot SLUG` / `--global`: how every command names a scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from app.domain import scopes
from app.domain.errors import InvalidScope
from app.domain.scopes import Scope


def scope_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--global", "global_", is_flag=True, help="The global scope (applies to every bot).")(func)
    return click.option("--bot", "bot", metavar="SLUG", help="A bot's scope, e.g. --bot mira.")(func)


def chosen_scope(bot: str | None, global_: bool) -> Scope:
    if bot and global_:
        raise click.UsageError("give either --bot SLUG or --global, not both")
    if not bot and not global_:
        raise click.UsageError("say which scope: --bot SLUG or --global")
    try:
        return scopes.GLOBAL if global_ else scopes.bot(bot or "")
    except InvalidScope as exc:
        raise click.BadParameter(exc.message, param_hint="--bot") from None
