"""The platform's settings endpoints (same paths and shapes), over real HTTP."""

from __future__ import annotations

from httpx import AsyncClient

from app.domain import scopes
from app.runtime import Runtime


async def test_put_then_get_in_the_platforms_shapes(client: AsyncClient, runtime: Runtime) -> None:
    r = await client.put("/v1/settings", json={"scope_type": "bot", "scope_id": "mira", "key": "temperature",
                                               "value": 0.4})
    assert r.status_code == 200
    assert r.json() == {"success": True, "scope_type": "bot", "scope_id": "mira", "key": "temperature", "value": 0.4}
    await client.put("/v1/settings", json={"scope_type": "global", "scope_id": None, "key": "search_depth",
                                           "value": "advanced"})
    r = await client.get("/v1/settings", params={"scope_type": "bot", "scope_id": "mira"})
    assert r.json() == {"scope_type": "bot", "scope_id": "mira", "settings": [{"key": "temperature", "value": 0.4}]}
    r = await client.get("/v1/settings", params={"scope_type": "global"})
    assert r.json()["settings"] == [{"key": "search_depth", "value": "advanced"}]
    # The native routes under /v1/settings/... are still there and see the same data.
    assert (await client.get("/v1/settings/bots/mira")).json()["settings"]["temperature"]["value"] == 0.4
    assert runtime.service.snapshot("mira")["temperature"] == 0.4


async def test_put_is_validated_and_maps_legacy_names_with_a_warning(client: AsyncClient) -> None:
    r = await client.put("/v1/settings", json={"scope_type": "bot", "scope_id": "mira", "key": "temperature",
                                               "value": "hot"})
    assert r.status_code == 422 and r.json()["errors"][0]["key"] == "temperature"
    r = await client.put("/v1/settings", json={"scope_type": "planet", "scope_id": "x", "key": "temperature",
                                               "value": 1})
    assert r.status_code == 400 and "scope_type" in r.json()["detail"]
    r = await client.put("/v1/settings", json={"scope_type": "global", "key": "max_tokens", "value": 1000})
    assert r.json()["key"] == "max_output_tokens" and "legacy" in r.json()["warnings"][0]


async def test_delete_says_whether_something_was_deleted(client: AsyncClient) -> None:
    await client.put("/v1/settings", json={"scope_type": "bot", "scope_id": "nova", "key": "top_p", "value": 0.5})
    params = {"scope_type": "bot", "scope_id": "nova", "key": "top_p"}
    r = await client.delete("/v1/settings", params=params)
    assert r.json() == {"success": True, "scope_type": "bot", "scope_id": "nova", "key": "top_p", "deleted": True}
    assert (await client.delete("/v1/settings", params=params)).json()["deleted"] is False


async def test_batch_applies_all_items_in_one_change(client: AsyncClient, runtime: Runtime) -> None:
    items = [{"scope_type": "bot", "scope_id": "mira", "key": "temperature", "value": 0.3},
             {"scope_type": "global", "scope_id": None, "key": "top_p", "value": 0.9},
             {"scope_type": "bot", "scope_id": "nova", "key": "history_duration", "value": 60}]
    r = await client.post("/v1/settings/batch", json={"items": items})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["applied_count"] == 3
    assert body["applied"][2] == {"scope_type": "bot", "scope_id": "nova", "key": "history_duration_seconds",
                                  "value": 60}
    history = (await client.get("/v1/settings/bots/mira")).json()
    assert history["revision"] <= 3 and (await client.get("/v1/settings/global")).json()["head"] == 3
    changes = await runtime.service.changes_between(0, 3)
    assert len(changes) == 1 and changes[0].first_revision == 1 and changes[0].last_revision == 3


async def test_a_batch_with_one_bad_item_applies_nothing_and_names_the_item(client: AsyncClient) -> None:
    items = [{"scope_type": "bot", "scope_id": "mira", "key": "temperature", "value": 0.3},
             {"scope_type": "bot", "scope_id": "mira", "key": "top_p", "value": 7},
             {"scope_type": "global", "scope_id": None, "key": "system_prompt", "value": "x"},
             {"scope_type": "bot", "scope_id": "Bad Slug", "key": "top_p", "value": 0.5}]
    r = await client.post("/v1/settings/batch", json={"items": items})
    assert r.status_code == 422
    body = r.json()
    assert body["items"] == [1, 2, 3] and "nothing was applied" in body["detail"]
    messages = [e["message"] for e in body["errors"]]
    assert messages[0].startswith("items[1]: 'top_p'") and messages[1].startswith("items[2]:")
    assert messages[2].startswith("items[3]: invalid bot slug")
    assert (await client.get("/v1/settings/global")).json()["head"] == 0


async def test_bot_profile_create_and_delete(client: AsyncClient, runtime: Runtime) -> None:
    r = await client.get("/v1/bots/mira")
    assert r.status_code == 200
    profile = r.json()["profile"]
    assert profile["name"] == {"value": "Mira", "source": "yaml"}
    assert profile["uses_tools"] == {"value": False, "source": "default"}
    await client.put("/v1/settings/bots/mira/description", json={"value": "Database Mira"})
    assert (await client.get("/v1/bots/mira")).json()["profile"]["description"] == {
        "value": "Database Mira", "source": "bot"}

    r = await client.post("/v1/bots", json={"slug": "zed", "description": "new", "uses_tools": True,
                                            "settings": {"temperature": 0.1}})
    assert r.status_code == 201 and r.headers["location"] == "/v1/bots/zed"
    zed = (await client.get("/v1/bots/zed")).json()
    assert zed["profile"]["name"] == {"value": "Zed", "source": "bot"} and zed["in_database"] is True
    assert runtime.service.snapshot("zed")["temperature"] == 0.1
    assert (await client.post("/v1/bots", json={"slug": "zed"})).status_code == 409
    assert (await client.post("/v1/bots", json={"slug": "mira"})).status_code == 409
    r = await client.post("/v1/bots", json={"slug": "yan", "temperature": 0.2})
    assert r.status_code == 422 and r.json()["errors"][0]["key"] == "temperature"

    r = await client.delete("/v1/bots/zed")
    assert r.status_code == 200 and r.json()["changed"] is True and len(r.json()["items"]) == 4
    assert (await client.get("/v1/bots/zed")).status_code == 404
    assert (await client.post("/v1/bots", json={"slug": "zed"})).status_code == 201  # re-created
    assert (await client.delete("/v1/bots/ghost")).status_code == 404
    events = await runtime.service.changes_between(0, 100)
    assert any("bots/zed" in c.scopes for c in events[:3])  # the history stays
    await runtime.service.delete_value(scopes.bot("mira"), "description", actor="t")
