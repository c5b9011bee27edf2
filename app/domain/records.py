"""Records the store reads and the services hand to the API, the CLI and the page:
plain values, no behaviour beyond small derived facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.domain.scopes import Scope, ScopeType


class StoredValue(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    value: Any
    key_version: int
    revision: int
    updated_at: datetime
    updated_by: str


class StoredState(msgspec.Struct, kw_only=True):
    head: int
    values: dict[Scope, dict[str, Any]]
    scope_revisions: dict[Scope, int]  # the revision of each scope's last event; absent = 0

    def bots(self) -> list[str]:
        """Bots with values stored in their scope."""
        return sorted(s.id for s, v in self.values.items() if s.type is ScopeType.BOT and v)


class Drift(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    key: str
    problem: str  # missing | unexpected | value | version | revision
    projection: Any = None
    replay: Any = None


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    head: int
    events: int
    keys: int
    drift: list[Drift]
    log_problems: list[str]


class ScopeView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    revision: int  # the scope's last event
    head: int
    values: list[StoredValue]


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    key: str
    present: bool
    value: Any
    key_version: int
    head: int


class BotSummary(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name: str
    description: str
    default_model: str | None
    in_yaml: bool
    overrides: int  # keys stored in the bot's own scope
    default: bool
