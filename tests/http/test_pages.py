"""The operators' page over plain HTTP, without tokens: pages, forms, errors, headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg
from httpx import AsyncClient

from app.domain import scopes
from app.runtime import Runtime
from tests.support.http import same_origin


async def test_overview_lists_bots_with_their_overrides(client: AsyncClient, runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.bot("zed"), "temperature", 0.5, actor="t")
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for slug in ("mira", "nova", "spark", "zed"):
        assert f'href="/bots/{slug}"' in r.text
    assert "database only" in r.text and "default bot" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in r.text and " style=" not in r.text


async def test_bot_page_shows_value_source_and_every_layer(client: AsyncClient, runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.bot("mira"), "temperature", 0.3, actor="t")
    r = await client.get("/bots/mira")
    assert r.status_code == 200
    block = r.text[r.text.index('id="key-temperature"'):r.text.index('id="key-top_p"')]
    assert 'class="effective">0.3<' in block and "badge src-bot" in block
    assert re.search(r'inherited-value">0\.85<', block)  # bots.yaml's value, under the override
    assert "Reset to inherited" in block
    assert 'id="area-generation"' in r.text and 'id="area-profile"' in r.text
    assert '<textarea id="v-system_prompt"' in r.text and "You are Mira" in r.text
    assert (await client.get("/bots/nobody")).status_code == 404


async def test_setting_a_value_through_the_form_records_it_and_redirects(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    r = await client.post("/bots/mira/settings/temperature", data={"value": "0.4", "reason": "calmer"},
                          headers=same_origin(client))
    assert r.status_code == 303 and r.headers["location"].startswith("/bots/mira?saved=temperature")
    row = await raw.fetchrow("SELECT value, actor, reason, source FROM settings_events")
    assert (row["value"], row["actor"], row["reason"], row["source"]) == ("0.4", "web", "calmer", "web")
    page = await client.get(r.headers["location"])
    assert "temperature is now 0.4" in page.text and "/undo" in page.text


async def test_a_refused_value_is_shown_next_to_its_field_and_nothing_is_written(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    r = await client.post("/bots/mira/settings/temperature", data={"value": "7"}, headers=same_origin(client))
    assert r.status_code == 422
    assert re.search(r'id="e-temperature" class="error" role="alert">[^<]*out of bounds', r.text)
    assert 'value="7"' in r.text  # what was typed stays in the field
    assert re.search(r'class="error-summary" role="alert".*href="#v-temperature">temperature: [^<]*out of bounds',
                     r.text, re.S)
    r = await client.post("/bots/mira/settings/search_depth", data={"value": "deep"}, headers=same_origin(client))
    assert r.status_code == 422 and "is not one of basic, advanced" in r.text
    assert (await client.post("/bots/mira/settings/nope", data={"value": "1"},
                              headers=same_origin(client))).status_code == 404
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0


async def test_reset_deletes_the_override_and_undo_reverts_a_change(
        client: AsyncClient, runtime: Runtime, raw: asyncpg.Connection) -> None:
    await runtime.service.set_value(scopes.bot("mira"), "temperature", 0.3, actor="t")
    r = await client.post("/bots/mira/settings/temperature/reset", data={}, headers=same_origin(client))
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "temperature was reset: it now inherits 0.85 from bots.yaml" in page.text
    change = re.search(r"/changes/([0-9a-f-]+)/undo", page.text)
    assert change
    r = await client.post(f"/changes/{change[1]}/undo", data={"back": "/bots/mira"}, headers=same_origin(client))
    assert r.status_code == 303 and r.headers["location"].startswith("/bots/mira?undone=")
    assert await raw.fetchval("SELECT value FROM settings_current WHERE key = 'temperature'") == "0.3"


async def test_global_page_shows_which_bots_a_value_reaches(client: AsyncClient, runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.GLOBAL, "top_p", 0.5, actor="t")
    await runtime.service.set_value(scopes.bot("mira"), "top_p", 0.7, actor="t")
    r = await client.get("/global")
    block = r.text[r.text.index('id="key-top_p"'):r.text.index('id="key-max_tool_calls_per_turn"')]
    assert "badge src-global" in block
    # The global layer sits above bots.yaml (nova's 0.9), below mira's own value.
    assert "Reaches 2 of 3 bots: nova, spark." in block and "mira</a> (from bot)" in block
    r = await client.post("/global/settings/top_p", data={"value": "0"}, headers=same_origin(client))
    assert r.status_code == 422 and "out of bounds" in r.text


async def test_history_filters_and_expands_and_rolls_back_after_a_dry_run(
        client: AsyncClient, runtime: Runtime, raw: asyncpg.Connection) -> None:
    svc = runtime.service
    await svc.set_value(scopes.bot("mira"), "temperature", 0.3, actor="alice", reason="first")
    await svc.set_value(scopes.bot("nova"), "temperature", 0.1, actor="bob")
    await svc.set_value(scopes.bot("mira"), "temperature", 0.6, actor="bob")
    r = await client.get("/history", params={"in": "bots/mira"})
    assert r.status_code == 200
    assert r.text.count('data-change=') == 2 and "0.3 → 0.6" in r.text and "“first”" in r.text
    assert (await client.get("/history", params={"actor": "alice"})).text.count('data-change=') == 1
    r = await client.get("/history/1", params={"in": "bots/mira"})
    assert r.status_code == 200 and "as of revision 1" in r.text and "0.3" in r.text
    r = await client.get("/rollback", params={"to": "1", "in": "bots/mira"})
    assert r.status_code == 200 and "This is a dry run" in r.text and "0.6" in r.text
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 3
    r = await client.post("/rollback", data={"to": "1", "in": "bots/mira", "reason": "too warm"},
                          headers=same_origin(client))
    assert r.status_code == 303 and "done=" in r.headers["location"]
    row = await raw.fetchrow("SELECT value, source, reason FROM settings_events ORDER BY revision DESC LIMIT 1")
    assert row["value"] == "0.3" and row["source"] == "rollback" and row["reason"].endswith("too warm")
    assert (await client.get("/history/99")).status_code == 400
    assert (await client.get("/rollback", params={"to": "x"})).status_code == 400


async def test_a_form_post_from_another_site_is_refused(client: AsyncClient, raw: asyncpg.Connection) -> None:
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}, {}):
        r = await client.post("/bots/mira/settings/temperature", data={"value": "0.4"}, headers=headers)
        assert r.status_code == 403, headers
        assert "cross-site request refused" in r.text
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0


async def test_static_files_and_the_login_page_without_tokens(client: AsyncClient) -> None:
    script = await client.get("/static/app.js")
    assert "EventSource" in script.text and script.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/static/app.css")).status_code == 200
    assert "no sign-in is needed" in (await client.get("/login")).text


async def test_jobs_page_lists_jobs_and_scheduled_changes(client: AsyncClient, runtime: Runtime) -> None:
    apply_at = datetime.now(UTC) + timedelta(hours=2)
    await runtime.jobs.schedule_change(scopes.bot("nova"), {"temperature": 0.25}, apply_at=apply_at,
                                       reason="night mode", actor="ops")
    r = await client.get("/jobs")
    assert r.status_code == 200
    assert "history_summarization" in r.text and 'href="/bots/mira"' in r.text
    assert "history_summarization_interval_minutes" in r.text  # where each interval comes from
    row = r.text[r.text.index("<table class=\"scheduled\">"):]
    assert "bots/nova" in row and "temperature = 0.25" in row and "night mode" in row and "pending" in row
    assert "<form" not in r.text.split("<main")[1]  # read-only
