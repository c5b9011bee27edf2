"""Change requests (four eyes): a change proposed by one principal and applied only
once another has approved it. No I/O.

In code a proposed change is a *proposal*, because ``ChangeRequest`` already names
the input of the change transaction (app/domain/events.py); the API, the CLI and
the page call it a change request.

Rules kept here:
- a proposal is a merge-patch of one or several scopes (``null`` deletes a key),
  validated when proposed and again when applied (the registry may have moved);
- the approver is never the author, and needs the right to change every scope the
  proposal touches (a writer for its bots, an admin for the global scope);
- the approval policy (``BOTSETTINGS_REQUIRE_APPROVAL``) names the scopes that
  direct writes may not touch without an admin's explicit bypass.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from app.domain.access import Action, Forbidden, Principal, Role, authorize
from app.domain.errors import Conflict, FieldError, ValidationFailed
from app.domain.events import ChangeRequest, Operation, Source, delete_op, normalize_request, same_value, set_op
from app.domain.scopes import Scope, parse_scope

MAX_SCOPES = 1000
MIN_GUARD_SECONDS = 1.0
MAX_GUARD_SECONDS = 7 * 86400.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ProposalStatus(StrEnum):
    PENDING = "pending"  # waiting for a second person
    APPROVED = "approved"  # approved; waiting for its apply_at (or being applied right now)
    APPLIED = "applied"
    FAILED = "failed"  # no longer valid when it was applied: nothing written
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN = (ProposalStatus.PENDING, ProposalStatus.APPROVED)


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    patches: dict[str, dict[str, Any]]  # scope (global | bots/<slug>) → merge-patch
    reason: str
    author: str
    status: str
    created_at: datetime
    apply_at: datetime | None = None  # None: as soon as it is approved
    guard_seconds: float | None = None  # watch the applied change this long (docs/change-requests.md)
    decided_by: str | None = None  # who approved, rejected or cancelled it
    decided_at: datetime | None = None
    decision_note: str | None = None
    applied_at: datetime | None = None
    change_id: uuid.UUID | None = None
    first_revision: int | None = None
    last_revision: int | None = None
    error: str | None = None

    @property
    def scopes(self) -> list[Scope]:
        return [parse_scope(s) for s in self.patches]


class DiffLine(msgspec.Struct, frozen=True, kw_only=True):
    """One key of a proposal against the stored state now."""

    scope: str
    key: str
    op: str  # set | delete
    now: Any = None
    present: bool  # whether the scope stores the key now
    proposed: Any = None
    changes: bool  # False: applying it would change nothing for this key


class AlreadyDecided(Conflict):
    """The proposal has left the state the operation needs (someone else got there first)."""


def parse_duration(text: str, name: str = "guard") -> float:
    """``15m``, ``90s``, ``1h``, ``2d`` → seconds, within 1 s … 7 days."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValidationFailed([FieldError(key=name, code="invalid_duration",
                                           message=f"{name}: {text!r} is not a duration like 90s, 15m, 1h or 2d")])
    seconds = float(match[1]) * _UNITS[match[2]]
    if not MIN_GUARD_SECONDS <= seconds <= MAX_GUARD_SECONDS:
        raise ValidationFailed([FieldError(key=name, code="out_of_range",
                                           message=f"{name}: {text!r} is outside 1s … 7d")])
    return seconds


def operations(patches: dict[str, dict[str, Any]]) -> list[Operation]:
    ops: list[Operation] = []
    for scope_text, patch in patches.items():
        scope = parse_scope(scope_text)
        ops.extend(delete_op(scope, k) if v is None else set_op(scope, k, v) for k, v in patch.items())
    return ops


def change_request(proposal: Proposal, approver: str) -> ChangeRequest:
    """The change an approved proposal becomes: its author's, its reason naming both people."""
    note = f"change request {proposal.id}: proposed by {proposal.author}, approved by {approver}"
    reason = f"{proposal.reason} ({note})" if proposal.reason else note
    return ChangeRequest(ops=operations(proposal.patches), actor=proposal.author, reason=reason,
                         source=Source.CHANGE_REQUEST)


def validate(patches: dict[str, dict[str, Any]], *, author: str, reason: str, apply_at: datetime | None,
             now: datetime) -> dict[str, dict[str, Any]]:
    """Check a proposal; returns its patches with canonical scope names, keys and values.
    Raises ValidationFailed naming every problem (scope, key, value, time)."""
    errors: list[FieldError] = []
    if not patches:
        errors.append(FieldError(key="patches", message="the change request is empty: name a scope and a key"))
    if len(patches) > MAX_SCOPES:
        errors.append(FieldError(key="patches", message=f"at most {MAX_SCOPES} scopes in one change request"))
    if not reason.strip():
        errors.append(FieldError(key="reason", code="required",
                                 message="a change request needs a reason: the approver reads it"))
    if apply_at is not None:
        if apply_at.tzinfo is None:
            errors.append(FieldError(key="apply_at", code="naive_time",
                                     message="apply_at needs a time zone, e.g. 2026-12-01T00:00Z or +01:00"))
        elif apply_at <= now:
            errors.append(FieldError(key="apply_at", code="in_the_past",
                                     message=f"apply_at {apply_at.isoformat()} is not in the future"))
    for scope_text, patch in patches.items():
        if not patch:
            errors.append(FieldError(key=scope_text, scope=scope_text,
                                     message=f"the patch of {scope_text} is empty: give at least one key"))
    try:
        ops, _ = normalize_request(ChangeRequest(ops=operations(patches), actor=author, reason=reason))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        ops = []
    if errors:
        raise ValidationFailed(errors)
    canonical: dict[str, dict[str, Any]] = {}
    for op in ops:
        canonical.setdefault(str(op.scope), {})[op.key] = None if op.op == "delete" else op.value
    return canonical


def diff(proposal: Proposal, stored: dict[str, dict[str, Any]]) -> list[DiffLine]:
    """Each key of the proposal against ``stored`` (scope → key → value stored now)."""
    lines = []
    for scope_text, patch in sorted(proposal.patches.items()):
        now = stored.get(scope_text, {})
        for key, value in sorted(patch.items()):
            present = key in now
            if value is None:
                lines.append(DiffLine(scope=scope_text, key=key, op="delete", now=now.get(key), present=present,
                                      changes=present))
            else:
                lines.append(DiffLine(scope=scope_text, key=key, op="set", now=now.get(key), present=present,
                                      proposed=value, changes=not present or not same_value(now[key], value)))
    return lines


def check_may_propose(principal: Principal, scopes: list[Scope]) -> None:
    """A proposal needs a writer (or admin) who sees every scope it names; a writer
    may propose a change of the global scope, which only an admin may approve."""
    for scope in scopes:
        authorize(principal, Action.READ, scope)
    if principal.role < Role.WRITER:
        raise Forbidden(f"token '{principal.name}' has role {principal.role.label}; "
                        "to propose a change it needs writer")


def check_may_approve(principal: Principal, proposal: Proposal) -> None:
    """Four eyes: not the author, and allowed to change every scope of the proposal."""
    if principal.name == proposal.author:
        raise Forbidden(f"'{principal.name}' proposed change request {proposal.id} and may not approve it: "
                        "another person must")
    for scope in proposal.scopes:
        authorize(principal, Action.WRITE, scope)


def check_may_cancel(principal: Principal, proposal: Proposal) -> None:
    """The author may withdraw their own proposal; anyone else needs the right to approve it."""
    if principal.name != proposal.author:
        for scope in proposal.scopes:
            authorize(principal, Action.WRITE, scope)


class ApprovalPolicy(StrEnum):
    """Which scopes direct writes may not change without a change request."""

    NONE = "none"
    GLOBAL = "global"
    ALL = "all"

    def protects(self, scope: Scope) -> bool:
        return self is ApprovalPolicy.ALL or (self is ApprovalPolicy.GLOBAL and scope.is_global)


# Changes that are not direct writes: an approved change request, a guard's revert
# (which undoes an approved change), and a scheduled change (checked when scheduled).
EXEMPT_SOURCES = frozenset({Source.CHANGE_REQUEST, Source.GUARD, Source.SCHEDULER})


class ApprovalRequired(Conflict):
    title = "Approval required"


def check_direct_write(policy: ApprovalPolicy, scopes: list[Scope], bypass: str | None) -> None:
    """Refuse a direct write to a protected scope unless an admin bypasses the policy
    with a reason (the caller has checked the role)."""
    protected = sorted({str(s) for s in scopes if policy.protects(s)})
    if not protected or bypass is not None:
        if bypass is not None and not bypass.strip():
            raise ValidationFailed([FieldError(key="bypass_approval", code="required",
                                               message="bypassing the approval policy needs a reason")])
        return
    raise ApprovalRequired(
        f"{', '.join(protected)} may only be changed through a change request "
        f"(BOTSETTINGS_REQUIRE_APPROVAL={policy.value}): POST /v1/change-requests, or "
        "`botsettings propose`; an admin may bypass with X-Approval-Bypass: <reason>",
        [FieldError(key=s, code="approval_required", scope=s, message=f"{s} needs an approved change request")
         for s in protected],
        change_requests="/v1/change-requests")


def admitted(policy: ApprovalPolicy, request: ChangeRequest, bypass: str | None) -> ChangeRequest:
    """``request`` as it may be written under ``policy``: unchanged, or with its reason
    naming an admin's bypass; ApprovalRequired when it needs a change request."""
    if request.source in EXEMPT_SOURCES or (policy is ApprovalPolicy.NONE and bypass is None):
        return request
    check_direct_write(policy, [op.scope for op in request.ops], bypass)
    if bypass is None:
        return request
    note = bypass_note(request.actor, bypass)
    return msgspec.structs.replace(request, reason=f"{request.reason} ({note})" if request.reason else note)


def bypass_note(actor: str, bypass: str) -> str:
    return f"approval bypassed by {actor}: {bypass.strip()}"
