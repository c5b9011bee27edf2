"""The pure pipeline: one request + one snapshot → the upstream request (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.errors import ValidationFailed
from app.domain.resolution import LayerValues, Snapshot, build_snapshot
from app.pipeline.errors import ContextBudgetExceeded
from app.pipeline.prepare import Prepared, prepare
from app.pipeline.request import parse_request
from app.pipeline.tokens import DEFAULT_COUNTER, ApproxTokenCounter

NOW = 1_800_000_000.0


def snapshot(**bot: Any) -> Snapshot:
    base = {"system_prompt": "You are Test.", "default_model": "m1", "history_duration_seconds": 600,
            "history_bridge_messages": 2, "memory_protected_recent_turns": 1, "history_tokens": 10_000}
    return build_snapshot("test", 7, LayerValues(bot={**base, **bot}, global_={}, yaml={}, env={}))


def run(messages: list[dict[str, Any]], snap: Snapshot | None = None, allowed: frozenset[str] = frozenset(),
        **request: Any) -> Prepared:
    parsed = parse_request({"model": "test", "messages": messages, **request})
    snap = snap or snapshot()
    return prepare(parsed, snap.with_overrides(parsed.overrides), now=NOW, counter=DEFAULT_COUNTER,
                   allowed_models=allowed)


def contents(prepared: Prepared) -> list[str]:
    return [m["content"] for m in prepared.request["messages"]]


def msg(role: str, content: str, age: float | None = None, **extra: Any) -> dict[str, Any]:
    m = {"role": role, "content": content, **extra}
    if age is not None:
        m["timestamp"] = NOW - age
    return m


def test_window_keeps_recent_undated_and_bridge_messages_and_the_last_one() -> None:
    messages = [msg("user", "old1", 5000), msg("assistant", "old2", 4000), msg("user", "undated"),
                msg("assistant", "old3", 3000), msg("user", "recent", 60), msg("assistant", "old-bridge", 9000),
                msg("user", "now", 9000)]
    p = run(messages)
    assert contents(p) == ["You are Test.", "undated", "recent", "old-bridge", "now"]
    assert p.provenance.context.dropped_by_window == 3
    assert contents(run(messages, snapshot(history_bridge_messages=0))) == ["You are Test.", "undated", "recent",
                                                                              "now"]
    assert len(contents(run(messages, snapshot(history_duration_seconds=100_000)))) == 8


def test_rfc3339_timestamps_and_orphaned_tool_results() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [msg("user", "q", 5000), {"role": "assistant", "content": None, "tool_calls": [call],
                                         "timestamp": "2020-01-01T00:00:00Z"},
                {"role": "tool", "content": "result", "tool_call_id": "call_1", "timestamp": NOW - 10},
                msg("assistant", "a", 5), msg("user", "now", 0)]
    p = run(messages, snapshot(history_bridge_messages=0))
    assert contents(p) == ["You are Test.", "a", "now"]  # the result of a dropped call goes with it
    assert all("timestamp" not in m for m in p.request["messages"])


def test_budget_evicts_whole_turns_oldest_first_but_never_protected_turns() -> None:
    big = "x" * 4000  # 1,004 tokens with framing
    messages = [msg("user", "t1 " + big), msg("assistant", "t1 reply"), msg("user", "t2 " + big),
                msg("assistant", "t2 reply"), msg("user", "t3 " + big), msg("assistant", "t3 reply"),
                msg("user", "t4")]
    p = run(messages, snapshot(history_tokens=1500, memory_protected_recent_turns=2))
    assert [c.split()[0] for c in contents(p)[1:]] == ["t3", "t3", "t4"]
    ctx = p.provenance.context
    assert (ctx.dropped_by_budget, ctx.turns, ctx.protected_turns, ctx.budget_tokens) == (4, 4, 2, 1500)
    assert ctx.prompt_tokens <= 1500
    assert ctx.prompt_tokens == DEFAULT_COUNTER.prompt_overhead() + sum(
        DEFAULT_COUNTER.count_message(m) for m in p.request["messages"])


def test_when_the_protected_part_does_not_fit_the_error_says_by_how_much() -> None:
    messages = [msg("user", "x" * 4000), msg("assistant", "y"), msg("user", "z" * 4000)]
    with pytest.raises(ContextBudgetExceeded) as caught:
        run(messages, snapshot(history_tokens=1500, memory_protected_recent_turns=2))
    extra = caught.value.extra
    assert extra["budget_tokens"] == 1500 and extra["over_by_tokens"] == extra["needed_tokens"] - 1500 > 0
    assert f"{extra['over_by_tokens']} tokens over" in caught.value.message
    # protected turns 0 still keeps the request's own turn
    p = run(messages, snapshot(history_tokens=1100, memory_protected_recent_turns=0))
    assert contents(p) == ["You are Test.", "z" * 4000]


def test_budget_is_history_tokens_capped_by_the_window_less_the_reply_reserve() -> None:
    p = run([msg("user", "hi")], snapshot(history_tokens=100_000, model_context_window_default=8192,
                                          max_output_tokens=1000, request_output_reserve=4096))
    assert (p.provenance.context.budget_tokens, p.request["max_tokens"]) == (7192, 1000)
    assert p.provenance.context.budget_rule == ("model_context_window_default − min(request_output_reserve, "
                                                "max_output_tokens)")
    p = run([msg("user", "hi")], snapshot(history_tokens=100_000, model_context_window_default=8192,
                                          max_output_tokens=6000, request_output_reserve=2000))
    assert p.provenance.context.budget_tokens == 6192  # the reserve is the smaller of the two
    p = run([msg("user", "hi")], snapshot(history_tokens=3000, model_context_window_default=8192))
    assert (p.provenance.context.budget_tokens, p.provenance.context.budget_rule) == (3000, "history_tokens")
    with pytest.raises(ValidationFailed, match="leaves no room"):
        run([msg("user", "hi")], snapshot(history_tokens=5000, model_context_window_default=1000,
                                          max_output_tokens=1000, request_output_reserve=1000))


def test_the_request_system_prompt_replaces_the_bots_only_when_the_bot_allows_it() -> None:
    messages = [msg("system", "Be a pirate."), msg("user", "hi")]
    refused = run(messages)
    assert contents(refused) == ["You are Test.", "hi"]
    assert (refused.provenance.context.system_prompt, refused.provenance.context.dropped_system_messages) == ("bot", 1)
    allowed = run(messages, snapshot(allow_request_system_prompt=True))
    assert contents(allowed) == ["Be a pirate.", "hi"] and allowed.provenance.context.system_prompt == "request"
    plain = run([msg("user", "hi")], snapshot(allow_request_system_prompt=True, system_prompt=""))
    assert contents(plain) == ["hi"] and plain.provenance.context.system_prompt == "none"


def test_parameters_model_choice_and_provenance() -> None:
    p = run([msg("user", "hi")], temperature=0.3, max_completion_tokens=50, seed=1)
    assert {k: p.request[k] for k in ("model", "temperature", "top_p", "max_tokens", "seed")} == {
        "model": "m1", "temperature": 0.3, "top_p": 0.95, "max_tokens": 50, "seed": 1}
    prov = p.provenance
    assert (prov.revision, prov.model_source, prov.overrides) == (
        7, "default_model", {"temperature": "temperature", "max_output_tokens": "max_completion_tokens"})
    assert (prov.settings["temperature"].source, prov.settings["top_p"].source,
            prov.settings["system_prompt"].source) == ("request", "default", "bot")
    assert run([msg("user", "hi")], allowed=frozenset({"big"}), upstream_model="big").request["model"] == "big"
    assert run([msg("user", "hi")], allowed=frozenset({"*"}), upstream_model="any").request["model"] == "any"
    assert run([msg("user", "hi")], upstream_model="m1").request["model"] == "m1"  # its own default: always
    with pytest.raises(ValidationFailed, match="not allowed"):
        run([msg("user", "hi")], upstream_model="big")
    with pytest.raises(ValidationFailed, match="has no default_model"):
        run([msg("user", "hi")], snapshot(default_model=None))


@pytest.mark.parametrize(("body", "key"), [
    ([], "body"), ({"messages": []}, "messages"), ({"messages": {"role": "user"}}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": "x", "timestamp": True}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "max_completion_tokens": 6},
     "max_completion_tokens"),
    ({"messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
    ({"messages": [{"role": "user", "content": "x"}], "overrides": [1]}, "overrides"),
    ({"messages": [{"role": "user", "content": "x"}], "overrides": {"default_model": "x"}}, "overrides.default_model"),
])
def test_malformed_requests_name_the_offending_field(body: Any, key: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_request(body)
    assert key in [e.key for e in caught.value.errors]


def test_the_default_counter_is_deterministic_and_counts_every_part() -> None:
    counter = ApproxTokenCounter()
    assert counter.count_message({"role": "user", "content": "abcd" * 10}) == 4 + 10
    assert counter.count_message({"role": "user", "content": "é"}) == 4 + 1  # UTF-8 bytes, rounded up
    parts = {"role": "user", "content": [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {}}]}
    assert counter.count_message(parts) == 4 + 1 + 85
    assert counter.count_message({"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}) > 4
