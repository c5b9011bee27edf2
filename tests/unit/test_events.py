"""Planning a change: validation, the no-op rule and expectations (no database)."""

from __future__ import annotations

import pytest

from app.domain import scopes
from app.domain.errors import Conflict, TooLarge, ValidationFailed
from app.domain.events import (
    MAX_OPS_PER_CHANGE,
    ChangeRequest,
    Expectations,
    KeyState,
    Op,
    check_expectations,
    delete_op,
    normalize_request,
    plan_change,
    set_op,
)

MIRA = scopes.bot("mira")


def test_same_value_set_and_absent_delete_plan_no_event() -> None:
    states = {(MIRA, "temperature"): KeyState(True, 0.5, 3)}
    assert plan_change([set_op(MIRA, "temperature", 0.5), delete_op(MIRA, "top_p")], states) == []


def test_a_changed_value_plans_one_event_with_previous_and_next_version() -> None:
    states = {(MIRA, "temperature"): KeyState(True, 0.5, 3)}
    [event] = plan_change([set_op(MIRA, "temperature", 0.7)], states)
    assert (event.op, event.value, event.previous, event.had_previous, event.key_version) == (
        Op.SET, 0.7, 0.5, True, 4)


def test_a_deleted_key_set_again_continues_its_version() -> None:
    states = {(MIRA, "temperature"): KeyState(False, None, 4)}
    [event] = plan_change([set_op(MIRA, "temperature", 0.7)], states)
    assert (event.had_previous, event.key_version) == (False, 5)


def test_values_compare_as_json_not_as_python() -> None:
    states = {(MIRA, "nextcloud"): KeyState(True, {"a": 1, "b": [1]}, 1)}
    [event] = plan_change([set_op(MIRA, "nextcloud", {"a": True, "b": [1]})], states)
    assert event.value == {"a": True, "b": [1]}
    assert plan_change([set_op(MIRA, "nextcloud", {"b": [1], "a": 1})], states) == []


def test_normalize_maps_legacy_names_and_reports_every_bad_op() -> None:
    ops, warnings = normalize_request(ChangeRequest(ops=[set_op(MIRA, "max_tokens", 100)], actor="t"))
    assert ops[0].key == "max_output_tokens" and "legacy" in warnings[0]
    with pytest.raises(ValidationFailed) as exc:
        normalize_request(ChangeRequest(ops=[set_op(MIRA, "temperature", 3), set_op(MIRA, "nope", 1),
                                             set_op(MIRA, "max_tokens", 1), set_op(MIRA, "max_output_tokens", 2)],
                                        actor="t"))
    assert [(e.key, e.code) for e in exc.value.errors] == [
        ("temperature", "invalid_value"), ("nope", "unknown_key"), ("max_output_tokens", "duplicate_key")]


def test_too_many_ops_and_a_missing_actor_are_refused() -> None:
    with pytest.raises(TooLarge):
        normalize_request(ChangeRequest(ops=[set_op(MIRA, "temperature", 0.1)] * (MAX_OPS_PER_CHANGE + 1),
                                        actor="t"))
    with pytest.raises(ValidationFailed, match="actor"):
        normalize_request(ChangeRequest(ops=[set_op(MIRA, "temperature", 0.1)], actor=""))


def test_failed_expectations_name_what_moved() -> None:
    states = {(MIRA, "temperature"): KeyState(True, 0.5, 3)}
    check_expectations(Expectations(key_versions={(MIRA, "temperature"): 3}), {}, states)
    with pytest.raises(Conflict) as exc:
        check_expectations(Expectations(scope_revisions={MIRA: 7}, key_versions={(MIRA, "top_p"): 1}),
                           {MIRA: 9}, states)
    assert [e.code for e in exc.value.errors] == ["revision_mismatch", "version_mismatch"]
