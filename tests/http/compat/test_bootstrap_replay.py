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


async def test_the_seed_era_bootstrap_maps_old_names_and_refuses_what_has_no_counterpart(
        platform: ServiceClientReplay, runtime: Runtime) -> None:
    """The seed era's names are mapped to the current ones; keys the registry does not
    hold any more (and max_context_tokens 0, whose "auto" meaning is gone) are refused
    by name, and then nothing is written: the batch is one change or none."""
    r = await platform.request("POST", "/v1/settings/batch", data={"items": [
        {"scope_type": "global", "scope_id": "*", "key": k, "value": v} for k, v in SEED_ERA_GLOBAL_KEYS.items()]})
    assert r.status_code == 422
    refused = {e["key"]: e["message"] for e in r.json()["errors"]}
    assert set(refused) == {"history_tokens", "max_context_messages", "summarization_min_messages_per_session"}
    assert "max_context_tokens" in refused["history_tokens"]  # named as sent, refused under its current name
    assert await runtime.service.head() == 0
    landing = {k: v for k, v in SEED_ERA_GLOBAL_KEYS.items()
               if k not in ("max_context_tokens", "max_context_messages", "summarization_min_messages_per_session")}
    sent, _ = await platform.settings_bootstrap(landing, {"nova": {"max_context_tokens": 8000}})
    assert sent == len(landing) + 1
    stored = runtime.service.stored(scopes.GLOBAL)
    assert stored["summary_count"] == 5 and stored["compact_context"] is True  # old names, current keys
    assert "summarization_max_in_context" not in stored and stored["temperature"] == 0.8
    assert runtime.service.stored(scopes.bot("nova")) == {"history_tokens": 8000}
