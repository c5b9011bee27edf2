"""/v1/keys and /v1/config/schema: the registry over real HTTP."""

from __future__ import annotations

from httpx import AsyncClient


async def test_config_schema_has_the_platforms_shape_and_bot_type_filter(client: AsyncClient) -> None:
    body = (await client.get("/v1/config/schema")).json()
    assert body["bot_type"] is None
    entry = body["settings"]["history_tokens"]
    assert entry == {"type": "int", "applies_to": ["chat", "agent"], "storage": "runtime_setting",
                     "label": "Raw history token budget", "help": entry["help"], "default": 12000,
                     "legacy_keys": ["max_context_tokens"], "ui_widget": ""}
    assert body["settings"]["claude_code_disallowed_tools"]["type"] == "string_list"
    assert body["settings"]["summarization_job"]["applies_to"] == []  # global-only
    assert "database_url" not in body["settings"]  # the environment's, not a setting
    agent = (await client.get("/v1/config/schema", params={"bot_type": " Agent "})).json()
    assert agent["bot_type"] == "agent"
    assert "session_model" in agent["settings"] and "include_summaries" not in agent["settings"]
    assert all("agent" in e["applies_to"] for e in agent["settings"].values())
    chat = (await client.get("/v1/config/schema?bot_type=chat")).json()["settings"]
    assert "include_summaries" in chat and "session_model" not in chat and "summarization_job" not in chat
    bad = await client.get("/v1/config/schema?bot_type=robot")
    assert bad.status_code == 400 and "bot_type must be 'chat' or 'agent'" in bad.text


async def test_keys_list_and_one_key_by_its_name_or_a_legacy_name(client: AsyncClient) -> None:
    keys = (await client.get("/v1/keys")).json()
    by_key = {k["key"]: k for k in keys}
    assert by_key["max_tool_calls_per_turn"]["default"] == 20
    assert by_key["request_output_reserve"]["global_only"] is True
    assert by_key["name"]["default"] == "<the slug, capitalised>"
    one = (await client.get("/v1/keys/max_context_tokens")).json()  # the old name finds the new key
    assert one["key"] == "history_tokens" and one["renames"]["max_context_tokens"].startswith("positive_or_unset")
    agent = {k["key"] for k in (await client.get("/v1/keys?bot_type=agent")).json()}
    assert "timeout_seconds" in agent and "include_summaries" not in agent
    missing = await client.get("/v1/keys/no_such_key")
    assert missing.status_code == 404 and "unknown setting 'no_such_key'" in missing.text


async def test_define_change_retire_over_http_each_a_change_with_who_and_why(client: AsyncClient) -> None:
    r = await client.post("/v1/keys", json={"key": "reply_language", "reason": "new key", "definition": {
        "type": "enum", "choices": ["en", "fr"], "default": "en", "applies_to": ["chat"]}},
        headers={"X-Actor": "alice"})
    assert r.status_code == 200 and r.json()["changed"] is True
    assert (await client.get("/v1/keys/reply_language")).json()["origin"].startswith("defined by alice")
    assert (await client.get("/v1/config/schema?bot_type=chat")).json()["settings"]["reply_language"]["default"] == "en"
    bad = await client.post("/v1/keys", json={"key": "x_new", "definition": {"type": "int", "default": "ten"}})
    assert bad.status_code == 422 and "the default does not fit" in bad.text
    empty = await client.post("/v1/keys", json={"key": "x_new", "definition": {}})
    assert empty.status_code == 400
    gone = await client.delete("/v1/keys/reply_language", headers={"X-Change-Reason": "dropped"})
    assert gone.status_code == 200
    assert (await client.get("/v1/keys/reply_language")).status_code == 404
    history = (await client.get("/v1/keys/reply_language/history")).json()["events"]
    assert [(e["reason"], e["value"].get("retired")) for e in history] == [("dropped", True), ("new key", None)]
    refused = await client.patch("/v1/settings/bots/mira", json={"reply_language": "fr"})
    assert refused.status_code == 422 and "retired" in refused.text
