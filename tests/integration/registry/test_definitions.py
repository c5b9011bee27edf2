"""Key definitions as data: define, change and retire keys without a release; each is a
change in the log (who, when, why), readable at a past point, installed by every process."""

from __future__ import annotations

import pytest

from app.domain import registry, scopes
from app.domain.errors import ValidationFailed
from app.domain.history import Point
from app.runtime import Runtime

MIRA = scopes.bot("mira")


async def test_a_defined_key_is_a_change_every_process_installs(runtime: Runtime) -> None:
    reg = runtime.services.registry
    made = await reg.define("reply_language", {"type": "enum", "choices": ["en", "fr"], "default": "en",
                                               "applies_to": ["chat"], "label": "Reply language",
                                               "help": "language of the replies"},
                            actor="alice", reason="the platform reads it from v0.2")
    assert made.changed
    assert registry.REGISTRY["reply_language"].applies_to == ("chat",)
    await runtime.service.set_value(MIRA, "reply_language", "fr", actor="bob")
    assert runtime.service.snapshot("mira")["reply_language"] == "fr"
    with pytest.raises(ValidationFailed, match="not one of en, fr"):
        await runtime.service.set_value(MIRA, "reply_language", "de", actor="bob")
    # change a built-in key's default: fields given replace the current ones
    await reg.define("temperature", {"default": 0.6}, actor="alice", reason="calmer by default")
    assert runtime.service.global_snapshot()["temperature"] == 0.6
    assert registry.REGISTRY["temperature"].maximum == 2  # the rest of the definition is kept
    doc = await reg.key("temperature")
    assert doc.origin.startswith("defined by alice at ")
    # the definition's history: who, when, why
    page = await reg.history("temperature")
    assert [(e.actor, e.reason, e.value["default"]) for e in page.events] == [("alice", "calmer by default", 0.6)]
    # retire: the key leaves the registry; writes are refused; its values stay in the log
    before_retire = runtime.service.revision
    await reg.retire("reply_language", actor="alice", reason="dropped")
    assert "reply_language" not in registry.REGISTRY
    with pytest.raises(ValidationFailed, match="retired"):
        await runtime.service.set_value(MIRA, "reply_language", "en", actor="bob")
    past = await runtime.services.history.state_at(Point(revision=before_retire), MIRA)
    assert past.scopes["bots/mira"]["reply_language"] == "fr"


async def test_bad_definitions_are_refused_and_write_nothing(runtime: Runtime) -> None:
    reg = runtime.services.registry
    head = runtime.service.revision
    for key, doc, message in [
        ("x_new", {"type": "int"}, "needs a default"),
        ("x_new", {"type": "int", "default": "ten"}, "the default does not fit"),
        ("x_new", {"type": "decimal", "default": 1}, "type must be one of"),
        ("x_new", {"type": "int", "default": 1, "applies_to": ["robot"]}, "applies_to"),
        ("x_new", {"type": "int", "default": 1, "colour": "red"}, "unknown field"),
        ("Bad-Name", {"type": "int", "default": 1}, "not a key name"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            await reg.define(key, doc, actor="t")
    with pytest.raises(ValidationFailed, match="nothing to retire"):
        await reg.retire("no_such_key", actor="t")
    assert runtime.service.revision == head


async def test_another_process_follows_a_definition_change(runtime: Runtime, runtimes) -> None:  # type: ignore[no-untyped-def]
    other = await runtimes.start()
    await runtime.services.registry.define("max_tool_calls_per_turn", {"default": 30}, actor="alice")
    await other.service.refresh()
    assert other.service.snapshot("mira")["max_tool_calls_per_turn"] == 30
