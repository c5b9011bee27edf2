"""Audit records and the results of history queries, as plain data."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from app.domain.errors import BadRequest, FieldError
from app.domain.events import ChangeResult, Event, Op
from app.domain.history import DiffItem
from app.domain.input_checks import parse_int
from app.domain.scopes import Scope


class EventFilter(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope | None = None
    key: str | None = None
    actor: str | None = None
    source: str | None = None
    change_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event as operators read it."""

    revision: int
    change_id: UUID
    scope: str
    key: str
    op: Op
    value: Any
    previous: Any
    had_previous: bool
    key_version: int
    actor: str
    reason: str
    source: str
    recorded_at: datetime


def audit_event(e: Event) -> AuditEvent:
    return AuditEvent(revision=e.revision, change_id=e.change_id, scope=str(e.scope), key=e.key, op=e.op,
                      value=e.value, previous=e.previous, had_previous=e.had_previous, key_version=e.key_version,
                      actor=e.actor, reason=e.reason, source=e.source.value, recorded_at=e.recorded_at)


class ChangeInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    first_revision: int
    last_revision: int
    event_count: int
    actor: str
    reason: str
    source: str
    recorded_at: datetime
    reverts: UUID | None = None
    rollback_to: int | None = None


def parse_cursor(text: str | None) -> int | None:
    """A page cursor is the revision (or change's first revision) to continue below."""
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"cursor: {text!r} is not a cursor from a previous page",
                         [FieldError(key="cursor", code="invalid_cursor", message=f"not a cursor: {text!r}")])
    return parse_int(text, "cursor")


def parse_change_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise BadRequest(f"{text!r} is not a change id (a UUID)",
                         [FieldError(key="change_id", code="invalid_change_id", message=f"not a UUID: {text!r}")]
                         ) from None


class HistoryPage(msgspec.Struct, frozen=True, kw_only=True):
    events: list[AuditEvent]
    next_cursor: str | None  # pass back as `cursor` for the next (older) page
    head: int


class ChangesPage(msgspec.Struct, frozen=True, kw_only=True):
    changes: list[ChangeInfo]
    next_cursor: str | None
    head: int


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """The change request a change applied: who proposed it and who approved it."""

    request_id: UUID
    author: str
    approver: str | None
    approved_at: datetime | None


class GuardInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A guarded change's watch over the bots' figures (docs/change-requests.md)."""

    status: str  # watching | passed | reverted | ended
    bots: list[str]
    started_at: datetime
    window_seconds: float
    finished_at: datetime | None = None
    figures: Any = None  # the last evaluation: per figure, before and after
    revert_change_id: UUID | None = None
    note: str | None = None


class ChangeDetail(msgspec.Struct, frozen=True, kw_only=True):
    change: ChangeInfo
    events: list[AuditEvent]
    approval: Approval | None = None  # when the change applied a change request
    guard: GuardInfo | None = None  # when the change was applied with a guard


class PastState(msgspec.Struct, frozen=True, kw_only=True):
    """Stored values at a revision: one scope's, or (``scope`` None) every scope's."""

    revision: int
    recorded_at: datetime | None  # when that revision was committed (None for revision 0)
    head: int
    scope: str | None
    scopes: dict[str, dict[str, Any]]


class DiffResult(msgspec.Struct, frozen=True, kw_only=True):
    from_revision: int
    to_revision: int
    scope: str | None
    items: list[DiffItem]


class RestoreResult(msgspec.Struct, frozen=True, kw_only=True):
    """A rollback or revert: what differs, what was skipped, and the change appended (if any)."""

    target: str  # what was restored, in words: "revision 812", "change <id>"
    target_revision: int | None
    dry_run: bool
    diff: list[DiffItem]
    skipped: list[FieldError]
    change: ChangeResult | None
    # A dry run's verdict of the model limits (docs/models.md): what applying it would
    # be refused for, each naming a bot; empty when it would pass.
    model_problems: list[FieldError] = []


class ChangeEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the change log: a change, the scopes it touched and its first events."""

    change: ChangeInfo
    scopes: list[str]
    events: list[AuditEvent]  # the first ones (all, unless ``more``)
    more: int  # events not listed here (the change's own page has them all)
    approval: Approval | None = None
    guard: GuardInfo | None = None


class ChangeLogPage(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[ChangeEntry]
    next_cursor: str | None
    head: int
