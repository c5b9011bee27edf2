"""The requests the platform's own clients (llm-bawt) send, rebuilt from facts about
their code — its `ServiceClient` (`src/llm_bawt/service/client.py`), the `llm
--settings-*` commands (`cli/admin_cmd.py`), the bot editor (`cli/bot_editor.py`) —
so the replay tests need neither its code nor the network.

Facts about how ServiceClient sends a request (the same in the seed era and now):
- the URL is the base URL, the path, and `?` + the params URL-encoded when there are any;
- every request carries `Content-Type: application/json`, GETs and DELETEs included;
- the body is the data as JSON, and no body at all when the data is empty or absent;
- the answer is parsed as JSON and returned; an HTTP error raises (callers log it and
  carry on as if nothing was saved).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx

HEADERS = {"Content-Type": "application/json"}
PLATFORM_DEFAULT_BOT = "nova"  # the platform's DEFAULT_BOT when its environment names none

# `--settings-bootstrap`'s global keys, by era: the seed era (bots.yaml; its
# `bootstrap_runtime_settings` in cli/app.py) and now (cli/admin_cmd.py, after the
# platform's renames), each with the value it sends from its own defaults.
SEED_ERA_GLOBAL_KEYS: dict[str, Any] = {
    "max_context_tokens": 0, "max_context_messages": 0, "max_output_tokens": 4096,
    "history_reload_ttl_seconds": 2.0, "summarization_session_gap_seconds": 3600,
    "summarization_min_messages_per_session": 2, "summarization_max_in_context": 5,
    "summarization_compact_context": True, "memory_n_results": 10, "memory_protected_recent_turns": 3,
    "memory_min_relevance": 0.01, "memory_max_token_percent": 30, "memory_dedup_similarity": 0.85,
    "profile_maintenance_interval_minutes": 60, "history_summarization_interval_minutes": 30,
    "temperature": 0.8, "top_p": 0.95,
}
CURRENT_GLOBAL_KEYS: dict[str, Any] = {
    "history_tokens": 12000, "max_output_tokens": 4096, "history_reload_ttl_seconds": 2.0, "summary_count": 5,
    "compact_context": True, "memory_n_results": 10, "memory_min_relevance": 0.01,
    "memory_dedup_similarity": 0.85, "profile_maintenance_interval_minutes": 60,
    "history_summarization_interval_minutes": 30, "temperature": 0.8, "top_p": 0.95,
}


class ServiceClientReplay:
    """One platform client's requests against a base URL, as its ServiceClient sends them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.sent: list[tuple[str, str, Any]] = []  # (method, url, data) in order

    async def request(self, method: str, path: str, data: dict[str, Any] | None = None,
                      params: dict[str, Any] | None = None) -> httpx.Response:
        url = path + ("?" + urlencode(params) if params else "")
        body = json.dumps(data).encode() if data else None
        self.sent.append((method, url, data))
        return await self.http.request(method, url, content=body, headers=HEADERS)

    async def call(self, method: str, path: str, data: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None) -> Any:
        """The client's `_request`: the parsed answer, or an error as it raises one."""
        response = await self.request(method, path, data, params)
        response.raise_for_status()
        return response.json()

    # -- the ServiceClient's methods, by what they send ----------------------------
    async def health(self) -> httpx.Response:
        return await self.http.get("/health")  # its availability probe: a bare GET

    async def get_settings(self, scope_type: str = "bot", scope_id: str | None = None) -> Any:
        params: dict[str, Any] = {"scope_type": scope_type}
        if scope_id:
            params["scope_id"] = scope_id
        return await self.call("GET", "/v1/settings", params=params)

    async def set_setting(self, scope_type: str, scope_id: str | None, key: str, value: Any) -> Any:
        return await self.call("PUT", "/v1/settings",
                               data={"scope_type": scope_type, "scope_id": scope_id, "key": key, "value": value})

    async def delete_setting(self, scope_type: str, key: str, scope_id: str | None = None) -> Any:
        params: dict[str, Any] = {"scope_type": scope_type, "key": key}
        if scope_id:
            params["scope_id"] = scope_id
        return await self.call("DELETE", "/v1/settings", params=params)

    async def batch_set_settings(self, items: list[dict[str, Any]]) -> Any:
        return await self.call("POST", "/v1/settings/batch", data={"items": items})

    async def get_bot_profile(self, slug: str) -> Any:
        return await self.call("GET", f"/v1/bots/{slug}/profile")

    async def upsert_bot_profile(self, slug: str, data: dict[str, Any]) -> Any:
        return await self.call("PUT", f"/v1/bots/{slug}/profile", data=data)

    async def patch_bot_profile(self, slug: str, data: dict[str, Any]) -> Any:
        """The platform's `PATCH /v1/bots/{slug}/profile` (its BotProfilePatchRequest):
        only the fields sent change; an unknown bot is a 404."""
        return await self.call("PATCH", f"/v1/bots/{slug}/profile", data=data)

    async def list_bots(self) -> Any:
        """`list_bots`: GET /v1/bots and the answer's `data` (its BotInfo dicts), else None."""
        answer = await self.call("GET", "/v1/bots")
        return answer.get("data")

    async def delete_bot_profile(self, slug: str, purge: bool = False) -> Any:
        return await self.call("DELETE", f"/v1/bots/{slug}/profile" + ("?purge=true" if purge else ""))

    async def list_bot_profiles(self, **params: Any) -> Any:
        return await self.call("GET", "/v1/bots/profiles", params=params or None)

    # -- the `llm` commands, by the calls they make ----------------------------------
    async def settings_list(self, scope: str, bot: str | None = None) -> Any:
        """`llm [-b BOT] [--settings-scope global] --settings-list`: the bot scope of -b or
        the default bot; the global scope with no id."""
        scope_id = None if scope == "global" else (bot or PLATFORM_DEFAULT_BOT)
        return await self.get_settings(scope_type=scope, scope_id=scope_id)

    async def settings_set(self, scope: str, bot: str | None, key: str, value: Any) -> Any:
        return await self.set_setting(scope, None if scope == "global" else (bot or PLATFORM_DEFAULT_BOT), key, value)

    async def settings_delete(self, scope: str, bot: str | None, key: str) -> Any:
        return await self.delete_setting(scope, key,
                                         scope_id=None if scope == "global" else (bot or PLATFORM_DEFAULT_BOT))

    async def settings_bootstrap(self, global_map: dict[str, Any], bots: dict[str, dict[str, Any]],
                                 overwrite: bool = False) -> tuple[int, int]:
        """`llm --settings-bootstrap`: reads the global scope and each bot's, then sends
        the keys not stored yet (all with overwrite) in ONE batch, global ids as "*".
        Returns (set, skipped) as it prints them; it never reads the batch's answer."""
        existing = {i.get("key") for i in (await self.get_settings(scope_type="global")).get("settings", [])}
        items, skipped = [], 0
        for key, value in global_map.items():
            if key in existing and not overwrite:
                skipped += 1
                continue
            items.append({"scope_type": "global", "scope_id": "*", "key": key, "value": value})
        for slug, settings in bots.items():
            stored = {i.get("key") for i in (await self.get_settings(scope_type="bot", scope_id=slug))
                      .get("settings", [])}
            for key, value in settings.items():
                if key in stored and not overwrite:
                    skipped += 1
                    continue
                items.append({"scope_type": "bot", "scope_id": slug, "key": key, "value": value})
        if items:
            await self.request("POST", "/v1/settings/batch", data={"items": items})
        return len(items), skipped


def editor_profile_payload(bot: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """What the bot editor PUTs (`edit_bot_yaml`): the edited document's fields over the
    bot's, `color` as edited, `nextcloud` sent as `nextcloud_config`, and the bot's
    type and agent backend as they were."""
    return {
        "name": edited.get("name", bot["name"]), "description": edited.get("description", bot["description"]),
        "system_prompt": edited.get("system_prompt", bot["system_prompt"]),
        **{f: edited.get(f, bot.get(f)) for f in (
            "requires_memory", "voice_optimized", "tts_mode", "include_summaries", "include_in_global_search",
            "uses_tools", "uses_search", "uses_home_assistant", "default_model")},
        "color": edited.get("color"), "default_voice": edited.get("default_voice"),
        "nextcloud_config": edited.get("nextcloud", bot.get("nextcloud")),
        "bot_type": bot.get("bot_type", "chat"), "agent_backend": bot.get("agent_backend"),
        "agent_backend_config": bot.get("agent_backend_config", {}),
    }
