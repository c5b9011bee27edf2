"""The platform's bot editor and ServiceClient profile calls, replayed against the app:
a profile save is one change of bot-scope events, so it reads back, has history,
reads at a past point and rolls back; fields botsettings has no setting for are kept."""

from __future__ import annotations

from typing import Any

import httpx

from app.domain import scopes
from app.runtime import Runtime
from tests.support.platform_client import ServiceClientReplay, editor_profile_payload

# Every field the platform's BotProfileResponse has (its schemas.py); its clients read these.
RESPONSE_FIELDS = {
    "slug", "name", "description", "system_prompt", "prompt_override_id", "requires_memory", "voice_optimized",
    "tts_mode", "include_summaries", "include_in_global_search", "uses_tools", "uses_search", "uses_home_assistant",
    "default_model", "color", "avatar", "avatar_render", "default_voice", "nextcloud_config", "bot_type", "harness",
    "endpoint_id", "agent_backend", "agent_backend_config", "settings", "created_at", "updated_at"}

NOVA = {"name": "Nova", "description": "Full-featured assistant", "system_prompt": "You are Nova.",
        "requires_memory": True, "voice_optimized": False, "tts_mode": False, "include_summaries": True,
        "include_in_global_search": True, "uses_tools": True, "uses_search": True, "uses_home_assistant": False,
        "default_model": "grok-4-fast", "nextcloud": None, "bot_type": "chat", "agent_backend": None,
        "agent_backend_config": {}}


async def _editor_saves(platform: ServiceClientReplay, slug: str, edited: dict[str, Any]) -> Any:
    return await platform.upsert_bot_profile(slug, editor_profile_payload(NOVA, edited))


async def test_the_editors_save_reads_back_in_the_platforms_shape(platform: ServiceClientReplay) -> None:
    saved = await _editor_saves(platform, "nova", {"system_prompt": "You are Nova, briefly.", "color": "cyan",
                                                   "tts_mode": True})
    assert set(saved) >= RESPONSE_FIELDS
    read = await platform.get_bot_profile("nova")
    assert read == saved
    assert read["slug"] == "nova" and read["system_prompt"] == "You are Nova, briefly."
    assert read["name"] == "Nova" and read["description"] == "Full-featured assistant"
    assert read["color"] == "cyan" and read["tts_mode"] is True and read["bot_type"] == "chat"
    assert read["uses_tools"] is True and read["default_model"] == "grok-4-fast"
    assert read["agent_backend_config"] == {} and read["nextcloud_config"] is None
    assert isinstance(read["settings"], dict) and "temperature" in read["settings"]
    assert "system_prompt" not in read["settings"] and "name" not in read["settings"]
    assert read["created_at"] and read["updated_at"]


async def test_a_save_is_one_change_with_history_as_of_and_rollback(platform: ServiceClientReplay,
                                                                    client: httpx.AsyncClient,
                                                                    runtime: Runtime) -> None:
    await _editor_saves(platform, "nova", {"system_prompt": "First prompt.", "color": "cyan"})
    first = await runtime.service.head()
    await _editor_saves(platform, "nova", {"system_prompt": "Second prompt.", "color": "red"})
    changes = await runtime.service.changes_between(first, await runtime.service.head())
    assert len(changes) == 1 and changes[0].keys == ["extra", "system_prompt"]  # only what changed
    history = (await client.get("/v1/history", params={"scope": "bots/nova", "key": "system_prompt"})).json()
    assert [e["value"] for e in history["events"]][:2] == ["Second prompt.", "First prompt."]
    past = (await client.get("/v1/bots/nova/effective", params={"revision": first})).json()
    assert past["settings"]["system_prompt"]["value"] == "First prompt."
    assert past["settings"]["extra"]["value"]["color"] == "cyan"
    r = await client.post("/v1/rollback", json={"to": {"revision": first}, "scope": "bots/nova"})
    assert r.status_code == 200, r.text
    read = await platform.get_bot_profile("nova")
    assert read["system_prompt"] == "First prompt." and read["color"] == "cyan"


async def test_unknown_fields_are_kept_not_refused(platform: ServiceClientReplay, runtime: Runtime) -> None:
    payload = {**editor_profile_payload(NOVA, {}), "avatar": "🦊", "harness": "claude-code", "endpoint_id": 7,
               "a_field_from_the_future": {"x": [1, 2]}}
    read = await platform.upsert_bot_profile("nova", payload)
    assert read["avatar"] == "🦊" and read["harness"] == "claude-code" and read["endpoint_id"] == 7
    assert read["a_field_from_the_future"] == {"x": [1, 2]}
    extra = runtime.service.snapshot("nova")["extra"]
    assert extra["avatar"] == "🦊" and extra["a_field_from_the_future"] == {"x": [1, 2]}
    # A later save that leaves a field out keeps it, as the platform's upsert does.
    read = await platform.upsert_bot_profile("nova", {"name": "Nova", "system_prompt": "p"})
    assert read["avatar"] == "🦊" and read["description"] == "" and read["uses_tools"] is False


async def test_a_save_without_the_required_fields_is_refused_and_writes_nothing(
        platform: ServiceClientReplay, runtime: Runtime) -> None:
    r = await platform.request("PUT", "/v1/bots/nova/profile", data={"description": "no name"})
    assert r.status_code == 422
    assert {e["key"] for e in r.json()["errors"]} == {"name", "system_prompt"}
    r = await platform.request("PUT", "/v1/bots/nova/profile", data={"name": "Nova", "system_prompt": "p",
                                                                     "uses_tools": "yes"})
    assert r.status_code == 422 and r.json()["errors"][0]["key"] == "uses_tools"
    assert await runtime.service.head() == 0


async def test_a_new_bot_is_created_by_its_first_save(platform: ServiceClientReplay) -> None:
    assert (await platform.request("GET", "/v1/bots/zed/profile")).status_code == 404
    read = await platform.upsert_bot_profile("zed", {"name": "Zed", "system_prompt": "You are Zed."})
    assert read["slug"] == "zed" and read["name"] == "Zed" and read["requires_memory"] is True
    assert (await platform.get_bot_profile("zed"))["system_prompt"] == "You are Zed."


async def test_a_null_default_model_uses_the_global_default_model(platform: ServiceClientReplay,
                                                                  client: httpx.AsyncClient,
                                                                  runtime: Runtime) -> None:
    await _editor_saves(platform, "spark", {"default_model": None})
    assert (await platform.get_bot_profile("spark"))["default_model"] is None
    await platform.set_setting("global", None, "default_model_alias", "grok-4-fast")
    effective = (await client.get("/v1/bots/spark/effective")).json()["settings"]["default_model"]
    assert effective == {"value": "grok-4-fast", "source": "global", "revision": effective["revision"]}
    assert (await platform.get_bot_profile("spark"))["default_model"] is None  # its own: none


async def test_profiles_list_with_the_platforms_filters(platform: ServiceClientReplay) -> None:
    await _editor_saves(platform, "nova", {"uses_tools": True})
    await _editor_saves(platform, "mira", {"name": "Mira", "uses_tools": False, "description": "companion"})
    body = await platform.list_bot_profiles()
    assert body["total_count"] == 3 and [p["slug"] for p in body["profiles"]] == ["mira", "nova", "spark"]
    assert set(body["profiles"][0]) >= RESPONSE_FIELDS
    body = await platform.list_bot_profiles(uses_tools="true")
    assert [p["slug"] for p in body["profiles"]] == ["nova"] and body["filters"]["uses_tools"] is True
    body = await platform.list_bot_profiles(q="COMPANION")
    assert [p["slug"] for p in body["profiles"]] == ["mira"] and body["filters"]["q"] == "companion"
    body = await platform.list_bot_profiles(limit=1, offset=1)
    assert body["total_count"] == 3 and [p["slug"] for p in body["profiles"]] == ["nova"]


async def test_delete_removes_the_profile_keys_and_keeps_the_history(platform: ServiceClientReplay,
                                                                     runtime: Runtime) -> None:
    await _editor_saves(platform, "zed", {"name": "Zed", "color": "red"})
    await platform.set_setting("bot", "zed", "temperature", 0.2)
    r = await platform.delete_bot_profile("zed")
    assert r == {"success": True, "slug": "zed"}
    assert runtime.service.stored(scopes.bot("zed")) == {"temperature": 0.2}  # its settings stay
    r = await platform.delete_bot_profile("zed", purge=True)
    assert r["success"] is True and r["purge"] == {"runtime_settings": 1}
    assert (await platform.request("GET", "/v1/bots/zed/profile")).status_code == 404
    assert (await platform.request("DELETE", "/v1/bots/ghost/profile")).status_code == 404
    changes = await runtime.service.changes_between(0, await runtime.service.head())
    assert len(changes) == 4  # save, set, delete, purge: all in the log


# The fields of the platform's BotInfo (its schemas.py) that its list_bots callers read.
BOT_INFO_FIELDS = {
    "slug", "name", "description", "system_prompt", "prompt_override_id", "requires_memory", "voice_optimized",
    "tts_mode", "include_summaries", "include_in_global_search", "default_voice", "uses_tools", "uses_search",
    "uses_home_assistant", "default_model", "color", "avatar", "avatar_render", "bot_type", "harness", "endpoint_id",
    "agent_backend", "agent_backend_config", "settings"}


async def test_list_bots_reads_each_bots_info_from_data(platform: ServiceClientReplay, client: httpx.AsyncClient,
                                                        runtime: Runtime) -> None:
    await _editor_saves(platform, "nova", {"color": "cyan"})
    await runtime.service.set_value(scopes.bot("mira"), "temperature", 0.4, actor="op")
    bots = await platform.list_bots()
    slugs = [b["slug"] for b in bots]
    assert slugs == sorted(slugs) and {"nova", "mira"} <= set(slugs)
    nova = next(b for b in bots if b["slug"] == "nova")
    assert set(nova) >= BOT_INFO_FIELDS
    assert (nova["name"], nova["color"], nova["uses_tools"]) == ("Nova", "cyan", True)
    mira = next(b for b in bots if b["slug"] == "mira")
    assert mira["settings"]["temperature"] == 0.4 and mira["name"] == "Mira"
    assert "default_bot" not in mira["settings"] and "models" not in mira["settings"]  # global-only: not a bot's
    body = (await client.get("/v1/bots")).json()  # our own clients' fields are still there
    assert body["object"] == "list" and {b["slug"] for b in body["bots"]} == {b["slug"] for b in bots}
    assert body["revision"] == await runtime.service.head()


async def test_a_partial_profile_update_changes_only_the_fields_sent(platform: ServiceClientReplay,
                                                                   client: httpx.AsyncClient,
                                                                   runtime: Runtime) -> None:
    before = await _editor_saves(platform, "nova", {"color": "cyan"})
    head = await runtime.service.head()
    after = await platform.patch_bot_profile("nova", {"system_prompt": "You are Nova, tersely.", "color": "red"})
    assert after["system_prompt"] == "You are Nova, tersely." and after["color"] == "red"
    unchanged = {k: v for k, v in before.items() if k not in ("system_prompt", "color", "updated_at", "settings")}
    assert {k: after[k] for k in unchanged} == unchanged
    events = (await client.get("/v1/history", params={"scope": "bots/nova"})).json()["events"]
    new = [e for e in events if e["revision"] > head]
    assert {e["key"] for e in new} == {"system_prompt", "extra"} and len({e["change_id"] for e in new}) == 1
    # a backend makes an agent, as on the platform; none makes a chat bot again
    agent = await platform.patch_bot_profile("nova", {"agent_backend": "claude-code"})
    assert (agent["bot_type"], agent["agent_backend"]) == ("agent", "claude-code")
    chat = await platform.patch_bot_profile("nova", {"agent_backend": None})
    assert (chat["bot_type"], chat["agent_backend"]) == ("chat", None)
    # an unknown bot is a 404 and nothing is written; a bad value a 422 naming it
    head = await runtime.service.head()
    r = await platform.request("PATCH", "/v1/bots/nobody/profile", data={"color": "red"})
    assert r.status_code == 404
    r = await platform.request("PATCH", "/v1/bots/nova/profile", data={"uses_tools": "yes"})
    assert r.status_code == 422 and "uses_tools" in r.text
    assert await runtime.service.head() == head
