"""The platform's runtime-settings clients (llm-bawt's ServiceClient and `llm
--settings-*`), replayed request by request against the app on loopback; every field
those clients read is asserted. The facts behind each request are in
tests/support/platform_client.py."""

from __future__ import annotations

import httpx

from app.domain import scopes
from app.runtime import Runtime
from tests.support.platform_client import ServiceClientReplay


async def test_health_is_the_platforms_probe(platform: ServiceClientReplay) -> None:
    r = await platform.health()
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_settings_list_of_the_default_bot_and_of_the_global_scope(platform: ServiceClientReplay) -> None:
    await platform.settings_set("bot", None, "temperature", 0.4)  # `llm --settings-set` without -b: nova
    body = await platform.settings_list("bot")
    assert body["scope_type"] == "bot" and body["scope_id"] == "nova"
    assert {"key": "temperature", "value": 0.4} in body["settings"]
    body = await platform.settings_list("global")
    assert body == {"scope_type": "global", "scope_id": "*", "settings": []}


async def test_profile_fields_are_not_listed_as_runtime_settings(platform: ServiceClientReplay,
                                                                 runtime: Runtime) -> None:
    bot = scopes.bot("mira")
    await runtime.service.patch(bot, {"system_prompt": "You are Mira.", "name": "Mira", "top_p": 0.5}, actor="t")
    body = await platform.settings_list("bot", "mira")
    assert body["settings"] == [{"key": "top_p", "value": 0.5}]  # what the editor shows as settings


async def test_set_then_delete_as_the_cli_reads_them(platform: ServiceClientReplay) -> None:
    r = await platform.settings_set("bot", "nova", "top_p", 0.7)
    assert r["success"] is True and r["scope_id"] == "nova" and r["value"] == 0.7
    r = await platform.settings_delete("bot", "nova", "top_p")
    assert r["success"] is True and r["deleted"] is True
    r = await platform.settings_delete("bot", "nova", "top_p")
    assert r["success"] is True and r["deleted"] is False  # "No matching runtime setting found."
    r = await platform.settings_set("global", None, "search_depth", "advanced")
    assert r == {"success": True, "scope_type": "global", "scope_id": "*", "key": "search_depth",
                 "value": "advanced"}
    r = await platform.settings_delete("global", None, "search_depth")
    assert r["success"] is True and r["scope_id"] == "*" and r["deleted"] is True


async def test_a_null_value_is_answered(platform: ServiceClientReplay) -> None:
    r = await platform.set_setting("global", None, "extraction_model", None)
    assert "value" in r and r["value"] is None and r["scope_id"] == "*"


async def test_scope_type_and_id_are_trimmed_and_lower_cased(platform: ServiceClientReplay) -> None:
    r = await platform.set_setting(" BOT ", " Mira ", "top_p", 0.6)
    assert (r["scope_type"], r["scope_id"]) == ("bot", "mira")
    body = await platform.get_settings(" Bot", "MIRA ")
    assert (body["scope_type"], body["scope_id"]) == ("bot", "mira") and body["settings"] == [
        {"key": "top_p", "value": 0.6}]
    r = await platform.delete_setting("GLOBAL ", "top_p")
    assert r["scope_id"] == "*" and r["deleted"] is False


async def test_a_bot_scope_without_an_id_is_the_default_bot(platform: ServiceClientReplay,
                                                            runtime: Runtime) -> None:
    r = await platform.set_setting("bot", None, "top_p", 0.3)  # bots.yaml's defaults.standard is nova
    assert r["scope_id"] == "nova" and runtime.service.snapshot("nova")["top_p"] == 0.3
    await runtime.service.set_value(scopes.GLOBAL, "default_bot", "mira", actor="t")
    assert (await platform.get_settings("bot"))["scope_id"] == "mira"  # the stored default wins
    r = await platform.call("GET", "/v1/settings")  # no parameters at all: the platform's shape too
    assert r["scope_type"] == "bot" and r["scope_id"] == "mira" and r["settings"] == []


async def test_an_unknown_scope_type_is_refused_with_the_reason(platform: ServiceClientReplay) -> None:
    r = await platform.request("GET", "/v1/settings", params={"scope_type": "planet"})
    assert r.status_code == 400 and "scope_type" in r.json()["detail"]


async def test_an_undeclared_key_is_refused_naming_it(platform: ServiceClientReplay, runtime: Runtime) -> None:
    r = await platform.request("PUT", "/v1/settings", data={"scope_type": "bot", "scope_id": "nova",
                                                           "key": "test_cli_integration_key", "value": "v"})
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["key"] == "test_cli_integration_key" and "test_cli_integration_key" in error["message"]
    assert await runtime.service.head() == 0


async def test_an_empty_batch_applies_nothing_and_succeeds(platform: ServiceClientReplay,
                                                           runtime: Runtime) -> None:
    r = await platform.batch_set_settings([])
    assert r == {"success": True, "applied_count": 0, "applied": []}
    assert await runtime.service.head() == 0


async def test_batch_answers_each_applied_item_with_its_scope(platform: ServiceClientReplay) -> None:
    r = await platform.batch_set_settings([
        {"scope_type": "global", "scope_id": "*", "key": "top_p", "value": 0.9},
        {"scope_type": "bot", "scope_id": None, "key": "temperature", "value": 0.2}])
    assert r["success"] is True and r["applied_count"] == 2
    assert [(a["scope_type"], a["scope_id"], a["key"]) for a in r["applied"]] == [
        ("global", "*", "top_p"), ("bot", "nova", "temperature")]


async def test_settings_all_lists_every_scope_filtered_and_paged(platform: ServiceClientReplay,
                                                                 runtime: Runtime) -> None:
    await runtime.service.patch(scopes.GLOBAL, {"top_p": 0.9, "temperature": 0.5}, actor="t")
    await runtime.service.patch(scopes.bot("mira"), {"temperature": 0.3, "name": "Mira"}, actor="t")
    body = await platform.call("GET", "/v1/settings/all")
    rows = [(s["scope_type"], s["scope_id"], s["key"], s["value"]) for s in body["settings"]]
    assert rows == [("bot", "mira", "temperature", 0.3), ("global", "*", "temperature", 0.5),
                    ("global", "*", "top_p", 0.9)]
    assert body["total_count"] == 3 and all(s["updated_at"] for s in body["settings"])
    assert body["filters"] == {"scope_type": None, "scope_id": None, "key": None, "key_prefix": None,
                               "limit": 200, "offset": 0}
    body = await platform.call("GET", "/v1/settings/all", params={"scope_type": " Global", "key_prefix": "te",
                                                                  "limit": 1})
    assert body["total_count"] == 1 and body["settings"][0]["key"] == "temperature"
    assert body["filters"]["scope_type"] == "global"
    body = await platform.call("GET", "/v1/settings/all", params={"offset": 2})
    assert body["total_count"] == 3 and [s["key"] for s in body["settings"]] == ["top_p"]
    r = await platform.request("GET", "/v1/settings/all", params={"limit": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["key"] == "limit"


async def test_the_native_every_scope_read_is_still_there_at_a_point(client: httpx.AsyncClient,
                                                                     runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.GLOBAL, "top_p", 0.9, actor="t")
    r = await client.get("/v1/settings", params={"revision": 1})
    assert r.status_code == 200 and r.json()["scopes"] == {"global": {"top_p": 0.9}}


async def test_a_seed_era_set_of_max_context_tokens_maps_to_history_tokens(platform: ServiceClientReplay,
                                                                           client: httpx.AsyncClient,
                                                                           runtime: Runtime) -> None:
    """`llm --settings-set max_context_tokens N`: a budget is written as history_tokens;
    the old 0 ("auto") unsets it in that scope (the scope inherits), through the
    platform's PUT and the native PATCH alike, each with a warning naming the mapping."""
    body = await platform.settings_set("bot", "mira", "max_context_tokens", 8000)
    assert (body["key"], body["value"]) == ("history_tokens", 8000) and "legacy name" in body["warnings"][0]
    assert runtime.service.stored(scopes.bot("mira")) == {"history_tokens": 8000}
    body = await platform.settings_set("bot", "mira", "max_context_tokens", 0)
    assert (body["key"], body["value"]) == ("history_tokens", None)
    assert any("unsetting 'history_tokens' in bots/mira" in w for w in body["warnings"])
    assert runtime.service.stored(scopes.bot("mira")) == {}
    await platform.settings_set("global", None, "history_tokens", 16000)
    r = await client.patch("/v1/settings/global", json={"max_context_tokens": 0})
    assert r.status_code == 200, r.text
    assert any("unsetting 'history_tokens' in global" in w for w in r.json()["warnings"])
    assert "history_tokens" not in runtime.service.stored(scopes.GLOBAL)
