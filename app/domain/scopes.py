"""Scopes: where a setting value is stored (the whole platform, or one bot)."""

from __future__ import annotations

import re
from enum import StrEnum

import msgspec

from app.domain.errors import InvalidScope

# \Z, not $: `$` also matches before a final newline, which let `mira\n` be a second bot.
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
# Words that name something else where a scope is written (`global`, `bots/…`), so a
# bot by that name would be easy to take for it.
RESERVED_SLUGS = frozenset({"global", "bots", "all", "none"})
GLOBAL_ID = "*"


class ScopeType(StrEnum):
    GLOBAL = "global"
    BOT = "bot"


class Scope(msgspec.Struct, frozen=True, order=True):
    type: ScopeType
    id: str

    def __str__(self) -> str:
        return "global" if self.type is ScopeType.GLOBAL else f"bots/{self.id}"

    @property
    def is_global(self) -> bool:
        return self.type is ScopeType.GLOBAL


GLOBAL = Scope(ScopeType.GLOBAL, GLOBAL_ID)


def is_slug(slug: object) -> bool:
    return isinstance(slug, str) and SLUG_PATTERN.match(slug) is not None and slug not in RESERVED_SLUGS


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise InvalidScope(
            f"invalid bot slug {slug!r}: use 1-64 characters a-z, 0-9, '_' or '-', "
            "starting with a letter or digit"
        )
    if slug in RESERVED_SLUGS:
        raise InvalidScope(f"{slug!r} is reserved and cannot be a bot slug (it would read like a scope); "
                           f"reserved: {', '.join(sorted(RESERVED_SLUGS))}")
    return slug


def bot(slug: str) -> Scope:
    return Scope(ScopeType.BOT, check_slug(slug))


def parse_scope(text: str) -> Scope:
    """Parse the written form: ``global`` or ``bots/<slug>``."""
    if text == "global":
        return GLOBAL
    if text.startswith("bots/"):
        return bot(text[len("bots/") :])
    raise InvalidScope(f"invalid scope {text!r}: write 'global' or 'bots/<slug>'")


def from_parts(scope_type: str, scope_id: str | None) -> Scope:
    """Build a scope from the (scope_type, scope_id) pair used in storage and the compat API."""
    if scope_type == ScopeType.GLOBAL:
        if scope_id not in (None, "", GLOBAL_ID):
            raise InvalidScope(f"the global scope has id '*', not {scope_id!r}")
        return GLOBAL
    if scope_type == ScopeType.BOT:
        return bot(scope_id or "")
    raise InvalidScope(f"invalid scope_type {scope_type!r}: use 'global' or 'bot'")
