"""The local copy's bookkeeping, without a service: resolution order, whole changes,
gaps, bots created after the bootstrap, repeats after a resume."""

from __future__ import annotations

import pytest
from botsettings_client._state import Change, Gap, NewBot, State, Value, differences


def document() -> dict:
    return {"revision": 4,
            "global": {"top_p": {"value": 0.5, "revision": 3}},
            "bots": {"mira": {"settings": {},  # the client recomputes these from the layers
                              "stored": {"temperature": {"value": 0.4, "revision": 4}},
                              "fallback": {"temperature": {"value": 0.85, "source": "yaml"},
                                           "top_p": {"value": 1.0, "source": "default"}}}}}


def message(first: int, events: list[dict]) -> dict:
    return {"first_revision": first, "revision": first + len(events) - 1,
            "keys": sorted({e["key"] for e in events}), "events": events}


def test_bootstrap_resolves_bot_then_global_then_fallback() -> None:
    state = State(document())
    assert state.view.bots["mira"]["temperature"] == Value(0.4, "bot", 4)
    assert state.view.bots["mira"]["top_p"] == Value(0.5, "global", 3)


def test_a_delete_falls_back_and_a_change_is_applied_whole() -> None:
    state = State(document())
    before = state.view
    changes = state.apply(message(5, [
        {"revision": 5, "scope": "bots/mira", "key": "temperature", "op": "delete"},
        {"revision": 6, "scope": "global", "key": "top_p", "op": "delete"}]), all_bots=True)
    assert state.revision == 6 and state.view.revision == 6
    assert state.view.bots["mira"]["temperature"] == Value(0.85, "yaml", None)
    assert sorted(changes, key=lambda c: c.key) == [
        Change("mira", "temperature", Value(0.4, "bot", 4), Value(0.85, "yaml", None), 6),
        Change("mira", "top_p", Value(0.5, "global", 3), Value(1.0, "default", None), 6)]
    assert before.bots["mira"]["temperature"] == Value(0.4, "bot", 4), "a reader's old view never changes"


def test_a_gap_is_refused_and_a_repeat_is_ignored() -> None:
    state = State(document())
    with pytest.raises(Gap):
        state.apply(message(6, [{"revision": 6, "scope": "global", "key": "top_p", "op": "delete"}]), True)
    assert state.revision == 4
    assert state.apply(message(4, [{"revision": 4, "scope": "bots/mira", "key": "temperature", "op": "set",
                                    "value": 0.4}]), True) == []


def test_a_new_bot_asks_for_a_bootstrap_only_when_following_every_bot() -> None:
    new = message(5, [{"revision": 5, "scope": "bots/zed", "key": "temperature", "op": "set", "value": 0.1}])
    with pytest.raises(NewBot):
        State(document()).apply(new, all_bots=True)
    state = State(document())
    assert state.apply(new, all_bots=False) == [] and state.revision == 5


def test_the_document_round_trips_and_differences_name_what_moved() -> None:
    state = State(document())
    again = State(state.to_document())
    assert again.view == state.view
    state.apply(message(5, [{"revision": 5, "scope": "global", "key": "top_p", "op": "set", "value": 0.2}]), True)
    assert differences(again.view, state.view) == [
        Change("mira", "top_p", Value(0.5, "global", 3), Value(0.2, "global", 5), 5)]
