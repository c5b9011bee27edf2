"""Model-aware validation (docs/models.md) on a real PostgreSQL: a change that would
leave a bot with a configuration its model cannot honour is refused, naming the bot,
and writes nothing; bots already out of bounds do not block other writes.

The runtime reads the repository's bots.yaml: mira on grok-4-fast (history 64000,
output 2048), nova on qwen3-8b (history 4000, output 512, temperature 0.2), spark on
llama-3.2-3b (history 12000 from the template, output 4096 by default).
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.domain import scopes
from app.domain.errors import ValidationFailed
from app.domain.events import ChangeRequest, Source, set_op
from app.domain.model_catalogue import DEFAULT_CATALOGUE
from app.domain.model_limits import ModelLimitsExceeded
from app.runtime import Runtime
from app.store import writer

MIRA, NOVA, SPARK, GLOBAL = scopes.bot("mira"), scopes.bot("nova"), scopes.bot("spark"), scopes.GLOBAL


async def counts(raw: asyncpg.Connection) -> tuple[int, int]:
    return (await raw.fetchval("SELECT count(*) FROM settings_events"),
            await raw.fetchval("SELECT count(*) FROM settings_changes"))


async def test_a_global_output_change_that_breaks_one_bots_window_is_refused_naming_that_bot(
        runtime: Runtime, raw: asyncpg.Connection) -> None:
    service = runtime.service
    await service.patch(SPARK, {"history_tokens": 26000}, actor="alice")  # 26000 + 4096 ≤ 32768
    before = await counts(raw)
    with pytest.raises(ModelLimitsExceeded) as caught:
        await service.patch(GLOBAL, {"max_output_tokens": 8000}, actor="alice")
    refusal = caught.value
    assert [v.bot for v in refusal.violations] == ["spark"]  # mira (2M window) and nova (4000 + 8000) still fit
    message = refusal.errors[0].message
    for part in ("bot 'spark' (model llama-3.2-3b)", "history_tokens 26000 (bot)",
                 "max_output_tokens 8000 (global)", "34000 tokens", "context window 32768"):
        assert part in message, message
    assert refusal.errors[0].key == "max_output_tokens" and refusal.errors[0].scope == "bots/spark"
    assert refusal.violations[0].limit == 32768 and refusal.violations[0].rule == "context_window"
    assert await counts(raw) == before  # nothing written
    assert service.snapshot("spark")["max_output_tokens"] == 4096
    # the same value at a size every bot's model takes is written
    await service.patch(GLOBAL, {"max_output_tokens": 6000}, actor="alice")
    assert service.snapshot("spark")["max_output_tokens"] == 6000


async def test_output_above_the_models_limit_and_a_model_outside_the_catalogue_are_refused(
        runtime: Runtime, raw: asyncpg.Connection) -> None:
    service = runtime.service
    with pytest.raises(ModelLimitsExceeded, match=r"max_output_tokens 9000 \(bot\) is above the model's output "
                                                  r"limit 8192"):
        await service.patch(NOVA, {"max_output_tokens": 9000}, actor="alice")
    with pytest.raises(ModelLimitsExceeded, match=r"default_model gpt-9 \(bot\) is not in the model catalogue"):
        await service.set_value(NOVA, "default_model", "gpt-9", actor="alice")
    assert await counts(raw) == (0, 0)
    # once the catalogue knows the model, the bot may use it
    catalogue = {**DEFAULT_CATALOGUE, "gpt-9": {"context_window": 8192, "max_output_tokens": 1024}}
    await service.set_value(GLOBAL, "models", catalogue, actor="alice")
    await service.set_value(NOVA, "default_model", "gpt-9", actor="alice")
    # and removing it from the catalogue again would strand nova
    with pytest.raises(ModelLimitsExceeded, match="bot 'nova': default_model gpt-9"):
        await service.set_value(GLOBAL, "models", DEFAULT_CATALOGUE, actor="alice")


async def test_a_temperature_outside_the_models_range_is_refused_whichever_side_moves(
        runtime: Runtime, raw: asyncpg.Connection) -> None:
    service = runtime.service
    narrow = {**DEFAULT_CATALOGUE, "qwen3-8b": {"context_window": 32768, "max_output_tokens": 8192,
                                                "temperature": {"min": 0.5, "max": 1.0}}}
    with pytest.raises(ModelLimitsExceeded) as caught:  # nova's 0.2 comes from bots.yaml
        await service.set_value(GLOBAL, "models", narrow, actor="alice")
    assert [(v.bot, v.rule) for v in caught.value.violations] == [("nova", "temperature")]
    assert "temperature 0.2 (yaml) is outside the model's range 0.5…1" in caught.value.errors[0].message
    await service.patch(NOVA, {"temperature": 0.7}, actor="alice")
    await service.set_value(GLOBAL, "models", narrow, actor="alice")
    with pytest.raises(ModelLimitsExceeded, match=r"temperature 1.5 \(bot\) is outside the model's range"):
        await service.patch(NOVA, {"temperature": 1.5}, actor="alice")
    assert service.snapshot("nova")["temperature"] == 0.7


async def test_the_catalogue_shape_is_checked_on_write(runtime: Runtime, raw: asyncpg.Connection) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await runtime.service.set_value(GLOBAL, "models", {"m": {"context_window": 1000, "max_output_tokens": 2000,
                                                                 "temperature": {"min": 1, "max": 0.5}}},
                                        actor="alice")
    messages = [e.message for e in caught.value.errors]
    assert any("'models.m.max_output_tokens': 2000 is larger than the context window 1000" in m for m in messages)
    assert any("'models.m.temperature'" in m for m in messages)
    with pytest.raises(ValidationFailed, match="cannot be set in the bot scope"):
        await runtime.service.set_value(MIRA, "models", DEFAULT_CATALOGUE, actor="alice")
    assert await counts(raw) == (0, 0)


async def test_a_bot_already_out_of_bounds_blocks_only_writes_that_make_it_worse(
        runtime: Runtime, raw: asyncpg.Connection) -> None:
    service = runtime.service
    # Stored before the catalogue existed (the store's own writer, below the check).
    await writer.apply_change(runtime.db, ChangeRequest(ops=[set_op(SPARK, "history_tokens", 40000)],
                                                        actor="legacy", source=Source.MIGRATION),
                              [set_op(SPARK, "history_tokens", 40000)])
    await service.refresh()
    assert [c.ok for c in service.check_models() if c.bot == "spark"] == [False]
    await service.patch(MIRA, {"temperature": 0.6}, actor="alice")  # another bot
    await service.patch(SPARK, {"description": "still broken"}, actor="alice")  # a key the limits do not read
    await service.patch(GLOBAL, {"temperature": 0.5}, actor="alice")  # a limit key, but spark's excess is unchanged
    await service.patch(SPARK, {"history_tokens": 35000}, actor="alice")  # better, still beyond: allowed
    with pytest.raises(ModelLimitsExceeded, match="history_tokens 36000"):  # worse: refused
        await service.patch(SPARK, {"history_tokens": 36000}, actor="alice")
    with pytest.raises(ModelLimitsExceeded, match="bot 'spark'"):  # a global change that makes spark worse
        await service.patch(GLOBAL, {"max_output_tokens": 5000}, actor="alice")
    await service.patch(SPARK, {"history_tokens": 20000}, actor="alice")
    assert all(c.ok for c in service.check_models())


async def test_two_changes_each_fine_alone_in_one_batch_are_judged_in_order(
        runtime: Runtime, raw: asyncpg.Connection) -> None:
    service = runtime.service
    results = await asyncio.gather(  # queued in the same turn: one batch
        service.patch(SPARK, {"history_tokens": 26000}, actor="a"),
        service.patch(SPARK, {"max_output_tokens": 8000}, actor="b"),
        return_exceptions=True)
    assert service.committer.batches == 1
    assert not isinstance(results[0], BaseException)
    assert isinstance(results[1], ModelLimitsExceeded), results[1]
    assert await counts(raw) == (1, 1)
