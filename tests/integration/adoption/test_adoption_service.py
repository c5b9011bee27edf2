"""The service side of adoption: a plan never lands on a state that moved after it was made."""

from __future__ import annotations

import pytest

from app.domain import scopes
from app.domain.adoption import plan_adoption
from app.domain.errors import Conflict
from app.domain.events import Source
from app.domain.intake import from_bots_yaml
from app.runtime import Runtime

YAML = "bots:\n  mira:\n    name: Mira\n    settings: {temperature: 0.9}\n"


async def test_a_change_between_plan_and_write_is_a_conflict_and_writes_nothing(runtime: Runtime) -> None:
    service, adoption = runtime.service, runtime.services.adoption
    state = await adoption.stored_state()
    plan = plan_adoption(from_bots_yaml([("bots.yaml", YAML)]), state.values, overwrite=False)
    await service.set_value(scopes.bot("mira"), "temperature", 0.1, actor="someone")  # lands in between
    with pytest.raises(Conflict):
        await adoption.apply_ops(plan.operations(), state, actor="t", reason="", source=Source.MIGRATION)
    assert service.snapshot("mira")["temperature"] == 0.1 and await service.head() == 1
    fresh = await adoption.stored_state()
    replanned = plan_adoption(from_bots_yaml([("bots.yaml", YAML)]), fresh.values, overwrite=False)
    assert [d.key for d in replanned.scopes[0].differ] == ["temperature"]  # now reported, and skipped
    result = await adoption.apply_ops(replanned.operations(), fresh, actor="t", reason="", source=Source.MIGRATION)
    assert result is not None and [i.key for i in result.items] == ["name"]
