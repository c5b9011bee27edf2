"""Model-aware validation over HTTP (docs/models.md): every write route refuses, with
a 422 naming the bots, the keys with their values and sources, and the limit, a change
that leaves a bot beyond its model; a rollback dry run reports it; GET /v1/check
reports every bot. The server reads the repository's bots.yaml (mira on grok-4-fast,
nova on qwen3-8b, spark on llama-3.2-3b with history 12000 from the template)."""

from __future__ import annotations

from typing import Any

import asyncpg
from httpx import AsyncClient

from app.domain import scopes
from app.domain.events import ChangeRequest, Source, set_op
from app.domain.model_catalogue import DEFAULT_CATALOGUE
from app.runtime import Runtime
from app.store import writer


async def events(raw: asyncpg.Connection) -> int:
    return await raw.fetchval("SELECT count(*) FROM settings_events")


def refused(r: Any, bot: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["title"] == "Model limits exceeded" and "nothing was written" in body["detail"]
    assert {e["scope"] for e in body["errors"]} == {f"bots/{bot}"} and {v["bot"] for v in body["violations"]} == {bot}
    return body  # type: ignore[no-any-return]


async def test_patch_of_a_global_output_that_breaks_one_window_names_the_bot_and_writes_nothing(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    assert (await client.patch("/v1/settings/bots/spark", json={"history_tokens": 26000})).status_code == 200
    written = await events(raw)
    body = refused(await client.patch("/v1/settings/global", json={"max_output_tokens": 8000}), "spark")
    violation = body["violations"][0]
    assert violation["model"] == "llama-3.2-3b" and violation["rule"] == "context_window"
    assert violation["limit"] == 32768
    assert violation["settings"] == [{"key": "history_tokens", "value": 26000, "source": "bot"},
                                     {"key": "max_output_tokens", "value": 8000, "source": "global"}]
    assert body["errors"][0]["key"] == "max_output_tokens" and body["errors"][0]["code"] == "model_limit"
    assert await events(raw) == written
    assert (await client.get("/v1/bots/spark/effective", params={"keys": "max_output_tokens"})).json()[
        "settings"]["max_output_tokens"] == {"value": 4096, "source": "default", "revision": written}


async def test_put_and_the_compatibility_routes_are_refused_alike(client: AsyncClient, raw: asyncpg.Connection) -> None:
    body = refused(await client.put("/v1/settings/bots/nova/max_output_tokens", json={"value": 9000}), "nova")
    assert "max_output_tokens 9000 (bot) is above the model's output limit 8192" in body["detail"]
    body = refused(await client.put("/v1/settings", json={"scope_type": "bot", "scope_id": "nova",
                                                          "key": "default_model", "value": "gpt-9"}), "nova")
    assert "default_model gpt-9 (bot) is not in the model catalogue" in body["errors"][0]["message"]
    items = [{"scope_type": "bot", "scope_id": "spark", "key": "history_tokens", "value": 30000},
             {"scope_type": "bot", "scope_id": "mira", "key": "temperature", "value": 0.3}]
    body = refused(await client.post("/v1/settings/batch", json={"items": items}), "spark")
    assert ("history_tokens 30000 (bot) + max_output_tokens 4096 (default) = 34096 tokens"
            in body["errors"][0]["message"])
    assert await events(raw) == 0


async def test_a_temperature_outside_the_models_range_is_refused(client: AsyncClient) -> None:
    catalogue = {**DEFAULT_CATALOGUE, "grok-4-fast": {"context_window": 2_000_000, "max_output_tokens": 30_000,
                                                      "temperature": {"min": 0, "max": 0.8}}}
    body = refused(await client.put("/v1/settings/global/models", json={"value": catalogue}), "mira")
    assert "temperature 0.85 (yaml) is outside the model's range 0…0.8" in body["detail"]
    assert (await client.patch("/v1/settings/bots/mira", json={"temperature": 0.7})).status_code == 200
    assert (await client.put("/v1/settings/global/models", json={"value": catalogue})).status_code == 200
    refused(await client.patch("/v1/settings/bots/mira", json={"temperature": 1.2}), "mira")


async def test_rollback_and_revert_dry_runs_report_what_the_limits_would_refuse(client: AsyncClient) -> None:
    roomy = {**DEFAULT_CATALOGUE, "llama-3.2-3b": {"context_window": 65536, "max_output_tokens": 8192}}
    changes = []
    for path, body in (("/v1/settings/global", {"models": roomy}),
                       ("/v1/settings/bots/spark", {"history_tokens": 50000}),  # revision 2
                       ("/v1/settings/bots/spark", {"history_tokens": 20000}),
                       ("/v1/settings/global", {"models": None})):  # back to the default catalogue
        r = await client.patch(path, json=body)
        assert r.status_code == 200
        changes.append(r.json()["change_id"])
    plan = {"to": {"revision": 2}, "scope": "bots/spark", "keys": ["history_tokens"]}
    r = await client.post("/v1/rollback", json={**plan, "dry_run": True})
    assert r.status_code == 200, r.text
    problems = r.json()["model_problems"]
    assert [p["scope"] for p in problems] == ["bots/spark"]
    assert "history_tokens 50000 (bot)" in problems[0]["message"] and "32768" in problems[0]["message"]
    refused(await client.post("/v1/rollback", json=plan), "spark")
    fine = await client.post("/v1/rollback", json={"to": {"revision": 3}, "scope": "bots/spark", "dry_run": True})
    assert fine.json()["model_problems"] == []
    # a revert of the change that brought spark back within the window, alike
    r = await client.post(f"/v1/changes/{changes[2]}/revert", json={"dry_run": True})
    assert r.status_code == 200 and [p["scope"] for p in r.json()["model_problems"]] == ["bots/spark"]
    refused(await client.post(f"/v1/changes/{changes[2]}/revert", json={}), "spark")


async def test_check_reports_every_bot_against_its_model(client: AsyncClient, runtime: Runtime) -> None:
    report = (await client.get("/v1/check")).json()
    assert report["ok"] is True and [b["bot"] for b in report["bots"]] == ["mira", "nova", "spark"]
    assert [b["model"] for b in report["bots"]] == ["grok-4-fast", "qwen3-8b", "llama-3.2-3b"]
    legacy = [set_op(scopes.bot("spark"), "history_tokens", 40000)]  # stored before the catalogue existed
    await writer.apply_change(runtime.db, ChangeRequest(ops=legacy, actor="legacy", source=Source.MIGRATION), legacy)
    await runtime.service.refresh()
    report = (await client.get("/v1/check")).json()
    assert report["ok"] is False and [b["ok"] for b in report["bots"]] == [True, True, False]
    spark = report["bots"][2]
    assert [v["rule"] for v in spark["violations"]] == ["context_window"]
    assert "history_tokens 40000 (bot) + max_output_tokens 4096 (default) = 44096 tokens" in \
        spark["violations"][0]["message"]
    # an unrelated write still passes while spark is out of bounds
    assert (await client.patch("/v1/settings/bots/nova", json={"temperature": 0.3})).status_code == 200
