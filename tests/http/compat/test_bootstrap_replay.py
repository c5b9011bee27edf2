"""`llm --settings-bootstrap`, replayed: it reads the global scope and each bot's, then
sends ONE batch of the keys not stored yet (global ids as "*") and never reads the
answer — so every key it sends must land, or it reports success over nothing."""

from __future__ import annotations

from app.domain import scopes
from app.runtime import Runtime
from tests.support.platform_client import CURRENT_GLOBAL_KEYS, SEED_ERA_GLOBAL_KEYS, ServiceClientReplay


async def test_the_current_clients_bootstrap_lands_every_key(platform: ServiceClientReplay,
                                                             runtime: Runtime) -> None:
    bots = {"nova": {"history_tokens": 8000, "summary_count": 3, "memory_n_results": 6}}
    sent, skipped = await platform.settings_bootstrap(CURRENT_GLOBAL_KEYS, bots)
    assert (sent, skipped) == (len(CURRENT_GLOBAL_KEYS) + 3, 0)
    batch = platform.sent[-1]
    assert batch[0] == "POST" and batch[1] == "/v1/settings/batch"
    assert runtime.service.stored(scopes.GLOBAL) == CURRENT_GLOBAL_KEYS
    assert runtime.service.stored(scopes.bot("nova")) == bots["nova"]
    listed = await platform.settings_list("global")
    assert {i["key"]: i["value"] for i in listed["settings"]} == CURRENT_GLOBAL_KEYS

    # Run again: everything is stored, so it skips every key and sends nothing.
    before = await runtime.service.head()
    assert await platform.settings_bootstrap(CURRENT_GLOBAL_KEYS, bots) == (0, len(CURRENT_GLOBAL_KEYS) + 3)
    assert await runtime.service.head() == before and platform.sent[-1][0] == "GET"
    # With overwrite it sends them all again; unchanged values append nothing.
    assert (await platform.settings_bootstrap(CURRENT_GLOBAL_KEYS, bots, overwrite=True))[0] == 15
    assert await runtime.service.head() == before


async def test_the_seed_era_bootstrap_lands_every_key_under_its_current_name(
        platform: ServiceClientReplay, runtime: Runtime) -> None:
    """The seed era's batch lands in one change: old names are stored under the current
    ones (transformed), max_context_tokens 0 ("auto") unsets history_tokens, and
    max_context_messages (a concept the platform dropped) is ignored — each mapping
    named in the answer's warnings, which this client never reads but an operator can."""
    await runtime.service.set_value(scopes.bot("nova"), "history_tokens", 9000, actor="op")
    await runtime.service.set_value(scopes.GLOBAL, "history_tokens", 16000, actor="op")
    sent, skipped = await platform.settings_bootstrap(SEED_ERA_GLOBAL_KEYS, {"nova": {"max_context_tokens": 0}})
    assert (sent, skipped) == (len(SEED_ERA_GLOBAL_KEYS) + 1, 0)
    head = await runtime.service.head()
    r = await platform.request("POST", "/v1/settings/batch", data=platform.sent[-1][2])  # the same batch, read
    assert r.status_code == 200, r.text
    answer = r.json()
    renamed = {"max_context_tokens": "history_tokens", "summarization_max_in_context": "summary_count",
               "summarization_compact_context": "compact_context",
               "summarization_min_messages_per_session": "summarization_min_messages"}
    expected = {renamed.get(k, k): v for k, v in SEED_ERA_GLOBAL_KEYS.items()
                if k not in ("max_context_tokens", "max_context_messages")}
    stored = runtime.service.stored(scopes.GLOBAL)
    assert stored == expected  # every key landed, under its current name; nothing else
    assert stored["summarization_min_messages"] == 2 and stored["summary_count"] == 5
    # 0 = "auto" unset the operator's history_tokens in both scopes: they inherit the default.
    assert "history_tokens" not in stored and runtime.service.stored(scopes.bot("nova")) == {}
    listed = await platform.settings_list("global")
    assert {i["key"] for i in listed["settings"]} == set(expected)
    warnings = "\n".join(answer["warnings"])
    for old, new in renamed.items():
        assert f"'{old}'" in warnings and f"'{new}'" in warnings
    assert "'max_context_messages' (in global) is no longer a setting" in warnings
    assert "unsetting 'history_tokens' in global" in warnings and "unsetting 'history_tokens' in bots/nova" in warnings
    assert not any(i["key"] == "max_context_messages" for i in answer["applied"])
    assert await runtime.service.head() == head  # the replayed batch changed nothing: the first one landed it all


async def test_a_dropped_seed_era_key_alone_is_ignored_with_a_warning(platform: ServiceClientReplay,
                                                                      runtime: Runtime) -> None:
    for nova_id in (None, "nova"):
        body = await platform.set_setting("bot", nova_id, "max_context_messages", 50)
        assert body["success"] is True and body["value"] is None
        assert "'max_context_messages' (in bots/nova) is no longer a setting" in body["warnings"][0]
    r = await platform.request("POST", "/v1/settings/batch", data={"items": [
        {"scope_type": "global", "scope_id": "*", "key": "max_context_messages", "value": 0}]})
    assert r.status_code == 200 and r.json()["applied_count"] == 0 and r.json()["warnings"]
    assert await runtime.service.head() == 0  # nothing appended
