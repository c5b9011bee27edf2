"""Reading the log under the registry's current names (upcasting).

A rename (max_context_tokens → history_tokens) is a registry change: the events
recorded under the old name are never rewritten. Every read of stored state or of
events passes through these functions, which present an old name's value under the
current name, transformed as the definition says (app/domain/registry_types.py,
TRANSFORMS); a value with no counterpart (the old ``0 = auto``) reads as unset.
When a scope holds both names, the current one wins: every write of a key also
deletes its legacy names in that scope (app/domain/events.py), so the current name
is always the later one.

All of it is idempotent: upcasting what is already current changes nothing.
Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from app.domain.events import Event, Op
from app.domain.registry import LEGACY_NAMES, UNSET, upcast
from app.domain.scopes import Scope


def names_of(key: str) -> list[str]:
    """``key`` and every legacy name stored events may carry for it."""
    return [key, *(old for old, new in LEGACY_NAMES.items() if new == key)]


def legacy_names(key: str) -> list[str]:
    return names_of(key)[1:]


def upcast_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """One scope's stored values under current names."""
    if not any(k in LEGACY_NAMES for k in values):
        return dict(values)
    out = {k: v for k, v in values.items() if k not in LEGACY_NAMES}
    for old, value in values.items():
        if old not in LEGACY_NAMES:
            continue
        key, new = upcast(old, value)
        if new is not UNSET and key not in out:
            out[key] = new
    return out


def upcast_state(state: Mapping[Scope, Mapping[str, Any]]) -> dict[Scope, dict[str, Any]]:
    return {scope: upcast_values(values) for scope, values in state.items()}


def upcast_event(event: Event) -> Event:
    if event.key not in LEGACY_NAMES:
        return event
    key, value = upcast(event.key, event.value) if event.op is Op.SET else (LEGACY_NAMES[event.key], None)
    op = event.op
    if value is UNSET:
        op, value = Op.DELETE, None
    had_previous, previous = event.had_previous, event.previous
    if had_previous:
        previous = upcast(event.key, previous)[1]
        if previous is UNSET:
            had_previous, previous = False, None
    return msgspec.structs.replace(event, key=key, op=op, value=value, previous=previous,
                                   had_previous=had_previous)


def upcast_events(events: Iterable[Event]) -> list[Event]:
    return [upcast_event(e) for e in events]


def current_name(key: str) -> str:
    return LEGACY_NAMES.get(key, key)

