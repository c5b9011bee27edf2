"""The NOTIFY payload of a committed batch: the batch's revision range and, when it
fits, the batch itself, so other processes apply it without a query.

Format (JSON, one object per batch; docs/architecture.md):

    {"first": F, "last": L, "at": "<recorded_at, ISO 8601>",
     "changes": [{"id": "<uuid>", "first": f, "actor": "...", "reason": "...", "source": "api",
                  "events": [[scope_type, scope_id, key, op, value, previous, had_previous, key_version], ...]},
                 ...]}

Event revisions are implicit: a change's events take ``f``, ``f + 1``, …, and the
changes cover ``F``…``L`` without a gap. When the full payload would not fit under
PostgreSQL's limit (8,000 bytes) only ``{"first": F, "last": L}`` is sent and a
receiver catches up from the log by revision — as it does for anything it cannot
decode.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from app.domain.events import Event, Op, Source
from app.domain.scopes import Scope, ScopeType

# PostgreSQL refuses payloads of 8,000 bytes or more; keep a margin.
MAX_PAYLOAD_BYTES = 7_900


class WireEvent(msgspec.Struct, array_like=True, frozen=True):
    scope_type: str
    scope_id: str
    key: str
    op: str
    value: Any
    previous: Any
    had_previous: bool
    key_version: int


class WireChange(msgspec.Struct, frozen=True):
    id: UUID
    first: int
    actor: str
    reason: str
    source: str
    events: list[WireEvent]


class Payload(msgspec.Struct, frozen=True, omit_defaults=True):
    first: int
    last: int
    at: datetime | None = None
    changes: list[WireChange] | None = None


_decoder = msgspec.json.Decoder(Payload)


def encode(first: int, last: int, at: datetime, events: list[Event]) -> str:
    """The payload of a batch (``events``: all of it, in revision order)."""
    changes: list[WireChange] = []
    size = 0
    for event in events:
        if not changes or changes[-1].id != event.change_id:
            changes.append(WireChange(id=event.change_id, first=event.revision, actor=event.actor,
                                      reason=event.reason, source=event.source, events=[]))
            size += len(event.reason) + len(event.actor)
        changes[-1].events.append(WireEvent(event.scope.type, event.scope.id, event.key, event.op,
                                            event.value, event.previous, event.had_previous, event.key_version))
        size += 40
        if size > MAX_PAYLOAD_BYTES:  # cheap early exit for big batches: it cannot fit
            return msgspec.json.encode(Payload(first=first, last=last)).decode()
    full = msgspec.json.encode(Payload(first=first, last=last, at=at, changes=changes))
    if len(full) > MAX_PAYLOAD_BYTES:
        return msgspec.json.encode(Payload(first=first, last=last)).decode()
    return full.decode()


def encode_around_at(first: int, last: int, events: list[Event]) -> tuple[str, str]:
    """The payload of a batch whose ``at`` the database stamps in the same statement
    (app/store/known_state.py): (what comes before the quoted timestamp, what comes
    after it). The timestamp is ``"YYYY-MM-DDTHH:MM:SS.ffffffZ"``, 29 bytes quoted."""
    head = f'{{"first":{first},"last":{last},"at":'
    full = encode(first, last, _STAND_IN_AT, events)
    if '"changes"' not in full:
        return head, "}"  # the range only (with the time, which receivers ignore then)
    return head, full[full.index(',"changes":'):]


_STAND_IN_AT = datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC)  # as long as any stamp once quoted


def decode(payload: str) -> Payload | None:
    """The payload, or None if it is not one of ours."""
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError:
        return None


def events_in(payload: Payload) -> list[Event] | None:
    """The batch's events, or None if the payload carries only the range."""
    if payload.changes is None or payload.at is None:
        return None
    events = []
    for change in payload.changes:
        source = Source(change.source)
        for n, e in enumerate(change.events):
            events.append(Event(revision=change.first + n, change_id=change.id,
                                scope=Scope(ScopeType(e.scope_type), e.scope_id), key=e.key, op=Op(e.op),
                                value=e.value, previous=e.previous, had_previous=e.had_previous,
                                key_version=e.key_version, actor=change.actor, reason=change.reason,
                                source=source, recorded_at=payload.at))
    if not events or events[0].revision != payload.first or events[-1].revision != payload.last \
            or len(events) != payload.last - payload.first + 1:
        return None  # not a whole batch: read it from the log instead
    return events
