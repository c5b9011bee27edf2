"""Scheduled setting changes: a merge-patch of one scope, applied at a given time.

Validated here twice: when it is scheduled and again when it is applied (the
registry, or the patch's meaning, may have changed in between).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from app.domain.errors import Conflict, FieldError, ValidationFailed
from app.domain.events import ChangeRequest, Operation, Source, delete_op, normalize_request, set_op
from app.domain.scopes import Scope


class ScheduledStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    CANCELLED = "cancelled"


def change_request(scope: Scope, patch: dict[str, Any], *, actor: str, reason: str) -> ChangeRequest:
    """The change a scheduled patch becomes: null deletes a key (RFC 7396), as on PATCH."""
    ops: list[Operation] = [delete_op(scope, k) if v is None else set_op(scope, k, v) for k, v in patch.items()]
    return ChangeRequest(ops=ops, actor=actor, reason=reason, source=Source.SCHEDULER)


def validate(scope: Scope, patch: dict[str, Any], *, actor: str, reason: str, apply_at: datetime,
             now: datetime) -> dict[str, Any]:
    """Check a patch to be scheduled; returns it with canonical key names and values.

    Raises ValidationFailed naming each problem (time, empty patch, every bad key).
    """
    errors: list[FieldError] = []
    if apply_at.tzinfo is None:
        errors.append(FieldError(key="apply_at", code="naive_time",
                                 message="apply_at needs a time zone, e.g. 2026-12-01T00:00Z or +01:00"))
    elif apply_at <= now:
        errors.append(FieldError(key="apply_at", code="in_the_past",
                                 message=f"apply_at {apply_at.isoformat()} is not in the future "
                                         f"(now {now.isoformat(timespec='seconds')}); write the change directly"))
    if not patch:
        errors.append(FieldError(key="patch", message="the patch is empty: give at least one key"))
    try:
        ops, _ = normalize_request(change_request(scope, patch, actor=actor, reason=reason))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        ops = []
    if errors:
        raise ValidationFailed(errors)
    return {op.key: (None if op.op == "delete" else op.value) for op in ops}


class ScheduledChange(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    scope: str
    patch: dict[str, Any]
    reason: str
    actor: str
    apply_at: datetime
    created_at: datetime
    status: str
    finished_at: datetime | None = None
    delay_seconds: float | None = None
    change_id: uuid.UUID | None = None
    first_revision: int | None = None
    last_revision: int | None = None
    applied_by: str | None = None
    error: str | None = None


class AlreadySettled(Conflict):
    """The scheduled change is no longer pending: applied, failed or cancelled by someone else."""
