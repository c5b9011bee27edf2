"""Reading old names under the current ones, and the registry built from the log's
definitions (pure code)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.domain import scopes
from app.domain.errors import ValidationFailed
from app.domain.events import Event, Op, Source
from app.domain.registry import BUILTIN
from app.domain.registry_log import registry_from, validate_entry
from app.domain.upcast import names_of, upcast_event, upcast_values

MIRA = scopes.bot("mira")


def event(key: str, op: Op, value: object, previous: object = None, had_previous: bool = False) -> Event:
    return Event(revision=1, change_id=uuid.uuid4(), scope=MIRA, key=key, op=op, value=value, previous=previous,
                 had_previous=had_previous, key_version=1, actor="t", reason="", source=Source.API,
                 recorded_at=datetime.now(UTC))


def test_an_old_names_events_read_under_the_new_name_with_the_transform() -> None:
    e = upcast_event(event("max_context_tokens", Op.SET, 64000, 0, True))
    assert (e.key, e.op, e.value, e.had_previous, e.previous) == ("history_tokens", Op.SET, 64000, False, None)
    zero = upcast_event(event("max_context_tokens", Op.SET, 0))
    assert (zero.key, zero.op, zero.value) == ("history_tokens", Op.DELETE, None)  # 0 = auto reads as unset
    gone = upcast_event(event("summarization_max_in_context", Op.DELETE, None, 3, True))
    assert (gone.key, gone.op, gone.previous) == ("summary_count", Op.DELETE, 3)
    same = event("temperature", Op.SET, 0.5)
    assert upcast_event(same) is same


def test_stored_values_under_both_names_keep_the_current_one() -> None:
    assert upcast_values({"max_context_tokens": 64000, "temperature": 0.5}) == {"history_tokens": 64000,
                                                                                 "temperature": 0.5}
    assert upcast_values({"max_context_tokens": 64000, "history_tokens": 9000}) == {"history_tokens": 9000}
    assert upcast_values({"max_context_tokens": 0}) == {}
    assert names_of("history_tokens") == ["history_tokens", "max_context_tokens"]


def test_the_logs_definitions_overlay_the_builtin_registry() -> None:
    doc = validate_entry("registry:temperature", {"default": 0.6}, BUILTIN)
    assert doc["default"] == 0.6 and doc["maximum"] == 2
    reg = registry_from({"registry:temperature": doc, "registry:top_p": {"retired": True}, "temperature": 0.1})
    assert reg.defs["temperature"].default == 0.6 and "top_p" not in reg.defs and "top_p" in reg.retired
    assert registry_from({}) is BUILTIN
    with pytest.raises(ValidationFailed, match="the default does not fit"):
        validate_entry("registry:temperature", {"default": 5}, BUILTIN)
    with pytest.raises(ValidationFailed, match="nothing to retire"):
        validate_entry("registry:nope", {"retired": True}, BUILTIN)
