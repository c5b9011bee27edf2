"""The NOTIFY payload of a batch (app/store/notify_payload.py): what another process
applies without a query, and when it must read the log instead."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.domain import scopes
from app.domain.events import Event, Op, Source
from app.store import notify_payload

AT = datetime(2026, 12, 4, 19, 40, 40, 486722, tzinfo=UTC)


def event(revision: int, change: uuid.UUID, key: str, op: Op, value: object, *, scope: scopes.Scope = scopes.GLOBAL,
          actor: str = "alice", reason: str = "", source: Source = Source.API) -> Event:
    return Event(revision=revision, change_id=change, scope=scope, key=key, op=op, value=value, previous=None,
                 had_previous=False, key_version=1, actor=actor, reason=reason, source=source, recorded_at=AT)


def test_a_batch_of_two_changes_round_trips_whole() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    events = [event(7, a, "temperature", Op.SET, 0.5, scope=scopes.bot("mira")),
              event(8, a, "extraction_model", Op.SET, None, scope=scopes.bot("mira")),  # a JSON null value
              event(9, b, "top_p", Op.DELETE, None, actor="bob", reason="tune ✓", source=Source.CLI)]
    payload = notify_payload.decode(notify_payload.encode(7, 9, AT, events))
    assert payload is not None and (payload.first, payload.last) == (7, 9)
    assert notify_payload.events_in(payload) == events


def test_a_batch_too_big_for_postgres_sends_only_its_range() -> None:
    change = uuid.uuid4()
    events = [event(1, change, "system_prompt", Op.SET, "é" * 4_000, scope=scopes.bot("mira"))]  # 8,000 bytes
    text = notify_payload.encode(1, 1, AT, events)
    assert text == '{"first":1,"last":1}'
    payload = notify_payload.decode(text)
    assert payload is not None and notify_payload.events_in(payload) is None


def test_anything_else_is_not_a_payload_of_ours() -> None:
    assert notify_payload.decode("pgbench") is None
    assert notify_payload.decode('{"first": "x"}') is None
    # Events that do not cover the announced range are not applied from the payload.
    change = uuid.uuid4()
    text = notify_payload.encode(5, 6, AT, [event(5, change, "top_p", Op.SET, 0.9)])
    payload = notify_payload.decode(text)
    assert payload is not None and notify_payload.events_in(payload) is None
