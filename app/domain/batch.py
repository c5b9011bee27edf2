"""Planning a batch of changes that commit in one transaction (group commit). Pure.

The store reads, under the head lock, the last event of every key the batch
touches and the revision of every scope an expectation names; :func:`plan_batch`
then walks the changes in queue order as if each committed alone: each one's
expectations are checked against the state the changes before it leave, its
events are planned against that state, and it gets the next contiguous revisions.
A change whose expectations fail is answered alone with its conflict and leaves
no trace in the state the later changes see (invariant 6).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from app.domain.errors import Conflict
from app.domain.events import (
    ChangeRequest,
    ChangeResult,
    Event,
    ItemResult,
    KeyState,
    Op,
    Operation,
    PlannedEvent,
    check_expectations,
    plan_change,
)
from app.domain.scopes import Scope


class Planned(msgspec.Struct, frozen=True, kw_only=True):
    """One change of a batch, planned: its result and the events it appends (none if
    it changes nothing)."""

    request: ChangeRequest
    result: ChangeResult
    events: list[PlannedEvent]


def keys_of(batch: list[tuple[ChangeRequest, list[Operation]]]) -> list[tuple[Scope, str]]:
    """Every (scope, key) the batch writes or names in an expectation, once."""
    seen: dict[tuple[Scope, str], None] = {}
    for request, ops in batch:
        for op in ops:
            seen[(op.scope, op.key)] = None
        for scope_key in request.expect.key_versions:
            seen[scope_key] = None
    return list(seen)


def scopes_expected(batch: list[tuple[ChangeRequest, list[Operation]]]) -> list[Scope]:
    seen: dict[Scope, None] = {}
    for request, _ in batch:
        for scope in request.expect.scope_revisions:
            seen[scope] = None
    return list(seen)


def plan_batch(batch: list[tuple[ChangeRequest, list[Operation]]], head: int,
               states: dict[tuple[Scope, str], KeyState], scope_revisions: dict[Scope, int]
               ) -> list[Planned | Conflict]:
    """Plan each change of ``batch`` in order, after ``head``; ``states`` and
    ``scope_revisions`` are what the log says before the batch (not modified)."""
    states = dict(states)
    scope_revisions = dict(scope_revisions)
    outcomes: list[Planned | Conflict] = []
    for request, ops in batch:
        if request.expect.scope_revisions or request.expect.key_versions:
            try:
                check_expectations(request.expect, scope_revisions, states)
            except Conflict as conflict:
                outcomes.append(conflict)
                continue
        planned = plan_change(ops, states)
        if not planned:
            outcomes.append(Planned(request=request, events=[], result=ChangeResult(
                change_id=None, first_revision=None, last_revision=None, head=head,
                items=items_of(ops, states, [], head))))
            continue
        first = head + 1
        head += len(planned)
        result = ChangeResult(change_id=uuid.uuid4(), first_revision=first, last_revision=head, head=head,
                              items=items_of(ops, states, planned, first))
        for n, event in enumerate(planned):
            states[(event.scope, event.key)] = KeyState(event.op is Op.SET, event.value, event.key_version)
            scope_revisions[event.scope] = first + n
        outcomes.append(Planned(request=request, result=result, events=planned))
    return outcomes


def items_of(ops: list[Operation], states: dict[tuple[Scope, str], KeyState],
             planned: list[PlannedEvent], first: int) -> list[ItemResult]:
    """Per requested operation: what it did (``states``: before the change)."""
    revisions = {(e.scope, e.key): (first + n, e) for n, e in enumerate(planned)}
    items = []
    for op in ops:
        before = states.get((op.scope, op.key))
        hit = revisions.get((op.scope, op.key))
        if hit:
            revision, event = hit
            items.append(ItemResult(scope=str(op.scope), key=op.key, op=op.op, changed=True,
                                    value=event.value, previous=event.previous,
                                    key_version=event.key_version, revision=revision))
        else:
            items.append(ItemResult(scope=str(op.scope), key=op.key, op=op.op, changed=False,
                                    value=before.value if before and before.present else None,
                                    previous=before.value if before and before.present else None,
                                    key_version=before.version if before else 0))
    return items


def events_of(planned: Planned, recorded_at: datetime) -> list[Event]:
    """The log rows of one planned change, as the read model applies them."""
    result, request = planned.result, planned.request
    assert result.change_id is not None and result.first_revision is not None
    return [Event(revision=result.first_revision + n, change_id=result.change_id, scope=e.scope, key=e.key,
                  op=e.op, value=e.value, previous=e.previous, had_previous=e.had_previous,
                  key_version=e.key_version, actor=request.actor, reason=request.reason, source=request.source,
                  recorded_at=recorded_at)
            for n, e in enumerate(planned.events)]


def final_states(events: list[Event]) -> dict[tuple[Scope, str], Event]:
    """The last event of each key in ``events`` (what the projection must hold after)."""
    last: dict[tuple[Scope, str], Event] = {}
    for event in events:
        last[(event.scope, event.key)] = event
    return last
