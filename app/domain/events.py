"""Events, changes and the pure planning of a change.

A change request names operations; :func:`plan_change` turns them, with the
current values, into the events to append. No I/O here: the store supplies the
current values under the head lock and appends what the plan says.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from app.domain.errors import Conflict, FieldError, TooLarge, ValidationFailed
from app.domain.registry import LEGACY_NAMES, REGISTRY, UNSET, canonical_key, current, lookup_writable
from app.domain.registry_log import is_definition, validate_entry
from app.domain.scopes import Scope
from app.domain.values import dropped_warning, is_dropped, unset_warning, validate_value, written_value

# One change may touch at most this many keys; a whole-platform import of
# 1,000 bots × 40 keys fits, a runaway script does not.
MAX_OPS_PER_CHANGE = 50_000
MAX_ACTOR_CHARS = 200
MAX_REASON_CHARS = 2_000


class Op(StrEnum):
    SET = "set"
    DELETE = "delete"


class Source(StrEnum):
    API = "api"
    CLI = "cli"
    ROLLBACK = "rollback"
    REVERT = "revert"
    MIGRATION = "migration"
    BOOTSTRAP = "bootstrap"
    SCHEDULER = "scheduler"
    WEB = "web"  # the operators' page
    PLATFORM_TABLE = "platform_table"  # the platform's own tables, attached as views (SQL triggers)
    CHANGE_REQUEST = "change_request"  # an approved change request (four eyes)
    GUARD = "guard"  # a guarded change reverted because the bots' figures worsened


class Operation(msgspec.Struct, frozen=True):
    """One requested set or delete; ``value`` is ignored for deletes."""

    scope: Scope
    key: str
    op: Op
    value: Any = None
    # A delete of a name the registry no longer has as a key (`rename-key` moving
    # values stored before a rename): taken as written, not mapped or looked up.
    retired: bool = False


def set_op(scope: Scope, key: str, value: Any) -> Operation:
    return Operation(scope, key, Op.SET, value)


def delete_op(scope: Scope, key: str) -> Operation:
    return Operation(scope, key, Op.DELETE)


class Expectations(msgspec.Struct, frozen=True, kw_only=True):
    """Optimistic-concurrency checks; a failed one writes nothing (invariant 6).

    ``scope_revisions``: scope → the revision of its last event (0: no event yet).
    ``key_versions``: (scope, key) → the key's version (0: never written).
    """

    scope_revisions: dict[Scope, int] = {}
    key_versions: dict[tuple[Scope, str], int] = {}


class ChangeRequest(msgspec.Struct, frozen=True, kw_only=True):
    ops: list[Operation]
    actor: str
    reason: str = ""
    source: Source = Source.API
    expect: Expectations = Expectations()
    reverts: UUID | None = None
    rollback_to: int | None = None


class KeyState(msgspec.Struct, frozen=True):
    """What the log says about one (scope, key) right now."""

    present: bool
    value: Any
    version: int  # 0 = never written


ABSENT = KeyState(False, None, 0)


class PlannedEvent(msgspec.Struct, frozen=True):
    scope: Scope
    key: str
    op: Op
    value: Any
    previous: Any
    had_previous: bool
    key_version: int


class ItemResult(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    key: str
    op: Op
    changed: bool
    value: Any = None
    previous: Any = None
    key_version: int
    revision: int | None = None


class ChangeResult(msgspec.Struct, frozen=True, kw_only=True):
    change_id: UUID | None  # None: nothing changed, nothing appended
    first_revision: int | None
    last_revision: int | None
    head: int
    items: list[ItemResult]
    warnings: list[str] = []

    @property
    def changed(self) -> bool:
        return self.change_id is not None


class Event(msgspec.Struct, frozen=True, kw_only=True):
    revision: int
    change_id: UUID
    scope: Scope
    key: str
    op: Op
    value: Any
    previous: Any
    had_previous: bool
    key_version: int
    actor: str
    reason: str
    source: Source
    recorded_at: datetime


class AppliedChange(msgspec.Struct, frozen=True, kw_only=True):
    """A committed change as processes hear of it (resolver subscribers, /v1/watch)."""

    change_id: UUID
    first_revision: int
    last_revision: int
    scopes: list[str]
    keys: list[str]
    events: tuple[Event, ...] = ()  # with their values, where the reader had them (the live path)


def normalize_request(request: ChangeRequest) -> tuple[list[Operation], list[str]]:
    """Validate every operation against the registry, collecting all errors.

    Returns canonical operations (legacy names mapped, values normalised) and
    warnings. Raises ValidationFailed naming each offending key; nothing is written.
    """
    if len(request.ops) > MAX_OPS_PER_CHANGE:
        raise TooLarge(f"a change may hold at most {MAX_OPS_PER_CHANGE} operations, got {len(request.ops)}")
    errors: list[FieldError] = []
    if not request.actor or len(request.actor) > MAX_ACTOR_CHARS:
        errors.append(FieldError(key="actor", message=f"actor must be 1…{MAX_ACTOR_CHARS} characters"))
    if len(request.reason) > MAX_REASON_CHARS:
        errors.append(FieldError(key="reason", message=f"reason is limited to {MAX_REASON_CHARS} characters"))
    ops: list[Operation] = []
    warnings: list[str] = []
    seen: set[tuple[Scope, str]] = set()
    for op in request.ops:
        if op.retired:
            if op.op is not Op.DELETE or op.key in REGISTRY:
                errors.append(FieldError(key=op.key, code="not_retired", scope=str(op.scope),
                                         message=f"'{op.key}' is a current key; only retired names are deleted as is"))
            elif (op.scope, op.key) not in seen:
                seen.add((op.scope, op.key))
                ops.append(op)
            continue
        if is_definition(op.key):  # a key definition (app/domain/registry_log.py)
            if (op.scope, op.key) in seen or not op.scope.is_global:
                errors.append(FieldError(key=op.key, code="scope_not_allowed", scope=str(op.scope),
                                         message=f"'{op.key}' is a key definition: once, in the global scope"))
                continue
            seen.add((op.scope, op.key))
            try:
                doc = validate_entry(op.key, op.value, current()) if op.op is Op.SET else None
            except ValidationFailed as exc:
                errors.extend(exc.errors)
                continue
            ops.append(Operation(op.scope, op.key, op.op, doc))
            continue
        if is_dropped(op.key):  # a seed-era key the platform dropped: nothing to store
            warnings.append(dropped_warning(op.key, op.scope))
            continue
        key, warning = canonical_key(op.key)
        if warning:
            warnings.append(warning)
        if (op.scope, key) in seen:
            errors.append(FieldError(key=key, code="duplicate_key", scope=str(op.scope),
                                     message=f"'{key}' appears more than once for {op.scope}"))
            continue
        seen.add((op.scope, key))
        try:
            defn = lookup_writable(key, op.scope)
            kind, value = op.op, None
            if op.op is Op.SET:
                value = written_value(op.key, op.value, refuse_unset=False)
                if value is UNSET:  # the old name's value means "not set": a delete, as old events read
                    warnings.append(unset_warning(op.key, op.value, op.scope))
                    kind, value = Op.DELETE, None
                else:
                    value = validate_value(defn, value)
        except ValidationFailed as exc:
            errors.extend(FieldError(key=e.key, code=e.code, message=e.message, scope=str(op.scope))
                          for e in exc.errors)
            continue
        ops.append(Operation(op.scope, key, kind, value))
    if errors:
        raise ValidationFailed(errors)
    return ops, warnings


def with_legacy_deletes(ops: list[Operation]) -> list[Operation]:
    """The operations of a change to commit: a key's legacy names in the scope go with
    any write of it (deletes, no-ops where absent), so a value stored under an old name
    never outlives a write of the current one (app/domain/upcast.py)."""
    if not LEGACY_NAMES:
        return ops
    named = {(op.scope, op.key) for op in ops}
    out: list[Operation] = []
    for op in ops:
        for old in (name for name, new in LEGACY_NAMES.items() if new == op.key):
            if (op.scope, old) not in named:
                named.add((op.scope, old))
                out.append(Operation(op.scope, old, Op.DELETE, None))
        out.append(op)
    return out


def check_expectations(expect: Expectations, scope_revisions: dict[Scope, int],
                       states: dict[tuple[Scope, str], KeyState]) -> None:
    mismatches: list[FieldError] = []
    for scope, wanted in expect.scope_revisions.items():
        actual = scope_revisions.get(scope, 0)
        if actual != wanted:
            mismatches.append(FieldError(key=str(scope), code="revision_mismatch", scope=str(scope),
                                         message=f"{scope} is at revision {actual}, not {wanted}"))
    for (scope, key), wanted in expect.key_versions.items():
        actual = states.get((scope, key), ABSENT).version
        if actual != wanted:
            mismatches.append(FieldError(key=key, code="version_mismatch", scope=str(scope),
                                         message=f"'{key}' in {scope} is at version {actual}, not {wanted}"))
    if mismatches:
        raise Conflict("the settings changed since you read them; re-read and retry", mismatches)


def plan_change(ops: list[Operation], states: dict[tuple[Scope, str], KeyState]) -> list[PlannedEvent]:
    """The events a change appends: one per operation that changes something (invariant 5)."""
    planned: list[PlannedEvent] = []
    for op in ops:
        state = states.get((op.scope, op.key), ABSENT)
        if op.op is Op.SET:
            if state.present and same_value(state.value, op.value):
                continue
        elif not state.present:
            continue
        planned.append(PlannedEvent(op.scope, op.key, op.op, op.value if op.op is Op.SET else None,
                                    state.value if state.present else None, state.present,
                                    state.version + 1))
    return planned


def same_value(a: Any, b: Any) -> bool:
    # Python calls True == 1 and {"a": 1} == {"a": True}; JSON does not. Compare the
    # canonical encodings (values are already normalised per key type).
    return msgspec.json.encode(a, order="sorted") == msgspec.json.encode(b, order="sorted")
