"""History planning, pure: points, replay both ways, diff, rollback and revert plans."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import scopes
from app.domain.errors import BadRequest, Conflict
from app.domain.events import Event, Op, Source
from app.domain.history import (
    Point,
    diff,
    parse_point,
    point_of,
    replay,
    revert_plan,
    rollback_plan,
    state_at,
    state_from_json,
    state_to_json,
    unreplay,
)

MIRA, GLOBAL = scopes.bot("mira"), scopes.GLOBAL
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def event(rev: int, scope, key: str, op: Op, value=None, previous=None, had_previous=False,
          change: uuid.UUID | None = None) -> Event:
    return Event(revision=rev, change_id=change or uuid.uuid4(), scope=scope, key=key, op=op, value=value,
                 previous=previous, had_previous=had_previous, key_version=1, actor="t", reason="",
                 source=Source.API, recorded_at=NOW)


def test_points_parse_revisions_timestamps_and_spans_back_from_now() -> None:
    assert parse_point("812", NOW) == Point(revision=812)
    assert parse_point("2026-11-20T10:00Z", NOW) == Point(time=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    assert parse_point("2026-11-20T10:00:00", NOW).time == datetime(2026, 11, 20, 10, tzinfo=UTC)  # naive = UTC
    assert parse_point("24h", NOW) == Point(time=NOW - timedelta(hours=24))
    assert parse_point("2d", NOW) == Point(time=NOW - timedelta(days=2))
    for bad in ("yesterday-ish", "2026-13-01", "-5", ""):
        with pytest.raises(BadRequest):
            parse_point(bad, NOW)
    with pytest.raises(BadRequest, match="not both"):
        point_of("3", "2026-11-20T10:00Z")
    with pytest.raises(BadRequest, match="not a revision"):
        point_of("x", None)
    assert point_of(None, None) is None


def test_replay_forward_and_undo_backward_meet_at_the_same_state() -> None:
    c = uuid.uuid4()
    events = [
        event(1, MIRA, "temperature", Op.SET, 0.5, change=c),
        event(2, GLOBAL, "top_p", Op.SET, 0.9, change=c),
        event(3, MIRA, "temperature", Op.SET, 0.7, previous=0.5, had_previous=True),
        event(4, GLOBAL, "top_p", Op.DELETE, previous=0.9, had_previous=True),
        event(5, MIRA, "default_model", Op.SET, None),  # a JSON null value is a value
    ]
    at2 = state_at({}, events[:2])
    assert at2 == {MIRA: {"temperature": 0.5}, GLOBAL: {"top_p": 0.9}}
    head = state_at(at2, events[2:])
    assert head == {MIRA: {"temperature": 0.7, "default_model": None}, GLOBAL: {}}
    assert at2 == {MIRA: {"temperature": 0.5}, GLOBAL: {"top_p": 0.9}}  # state_at copies
    back = unreplay(replay({}, events), reversed(events[2:]))
    assert back == at2
    assert state_from_json(state_to_json(head)) == {MIRA: {"temperature": 0.7, "default_model": None}}


def test_diff_names_added_removed_and_changed_keys_by_json_equality() -> None:
    before = {MIRA: {"temperature": 0.5, "top_p": 0.9, "uses_tools": True}}
    after = {MIRA: {"temperature": 0.6, "uses_tools": 1, "memory_n_results": 3}, GLOBAL: {"top_p": 1.0}}
    items = {(i.scope, i.key): i for i in diff(before, after)}
    assert {k: i.change for k, i in items.items()} == {
        ("bots/mira", "temperature"): "changed", ("bots/mira", "top_p"): "removed",
        ("bots/mira", "uses_tools"): "changed",  # true and 1 differ in JSON
        ("bots/mira", "memory_n_results"): "added", ("global", "top_p"): "added"}
    assert [i.key for i in diff(before, after, MIRA, ["top_p"])] == ["top_p"]
    assert diff(before, before) == []


def test_rollback_plan_restores_sets_and_deletes_and_skips_what_the_registry_refuses_today() -> None:
    current = {MIRA: {"temperature": 0.9, "memory_n_results": 5, "retired_key": 1}}
    target = {MIRA: {"temperature": 0.5, "top_p": 7.0, "old_gone_key": "x"}}
    plan = rollback_plan(current, target)
    ops = {(o.key, o.op, o.value) for o in plan.ops}
    assert ops == {("temperature", Op.SET, 0.5), ("memory_n_results", Op.DELETE, None)}
    skipped = {s.key: s.code for s in plan.skipped}
    assert skipped == {"top_p": "invalid_value", "old_gone_key": "unknown_key", "retired_key": "unknown_key"}
    assert all("cannot be restored" in s.message for s in plan.skipped)
    assert len(plan.diff) == 5


def test_revert_plan_restores_previous_values_and_refuses_keys_changed_later_unless_forced() -> None:
    c = uuid.uuid4()
    change = [event(3, MIRA, "temperature", Op.SET, 0.7, previous=0.5, had_previous=True, change=c),
              event(4, MIRA, "top_p", Op.SET, 0.9, change=c)]
    current = {MIRA: {"temperature": 0.7, "top_p": 0.8}}
    with pytest.raises(Conflict) as caught:
        revert_plan(change, current, {(MIRA, "top_p"): 9})
    assert [e.key for e in caught.value.errors] == ["top_p"] and "revision 9" in caught.value.errors[0].message
    plan = revert_plan(change, current, {(MIRA, "top_p"): 9}, force=True)
    assert {(o.key, o.op, o.value) for o in plan.ops} == {("temperature", Op.SET, 0.5), ("top_p", Op.DELETE, None)}
    # Nothing moved since: nothing to do.
    assert revert_plan(change, {MIRA: {"temperature": 0.5}}, {}).ops == []
