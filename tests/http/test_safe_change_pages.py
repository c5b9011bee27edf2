"""The history page as a change log, the compare view, and change requests on the page."""

from __future__ import annotations

import re

import asyncpg
from httpx import AsyncClient

from app.domain import scopes
from app.domain.access import Principal, Role
from app.runtime import Runtime
from tests.support.http import same_origin

LONG_PROMPT = "\n".join(f"line {i}: be concise and kind" for i in range(12))


async def test_a_change_of_many_keys_is_one_row_expandable_to_its_events(
        client: AsyncClient, runtime: Runtime) -> None:
    svc = runtime.service
    keys = {"temperature": 0.3, "top_p": 0.8, "max_output_tokens": 700, "memory_n_results": 7}
    await svc.patch(scopes.bot("mira"), keys, actor="alice", reason="tune all")
    await svc.patch(scopes.bot("mira"), {"system_prompt": LONG_PROMPT}, actor="bob", reason="prompt")
    shorter = LONG_PROMPT.replace("line 5: be concise", "line 5: be brief")
    await svc.patch(scopes.bot("mira"), {"system_prompt": shorter}, actor="bob", reason="shorter")
    r = await client.get("/history", params={"in": "bots/mira"})
    assert r.status_code == 200
    rows = re.findall(r'<li class="change[^"]*"[^>]*data-keys="(\d+)"', r.text)
    assert rows == ["1", "1", "4"]  # newest first; the 4-key change is one row
    assert "4 keys</strong> in bots/mira" in r.text and "“tune all”" in r.text
    assert r.text.count('class="change-event"') == 4
    # The long value's change is a unified diff, not the whole text twice.
    assert '<span class="del">- line 5: be concise and kind</span>' in r.text
    assert '<span class="add">+ line 5: be brief and kind</span>' in r.text
    assert '<span class="hunk">@@' in r.text


async def test_compare_two_bots_differences_first_and_two_points(client: AsyncClient, runtime: Runtime) -> None:
    await runtime.service.patch(scopes.bot("mira"), {"temperature": 0.2}, actor="a")
    await runtime.service.patch(scopes.bot("nova"), {"temperature": 0.9, "top_p": 0.5}, actor="a")
    await runtime.service.patch(scopes.bot("mira"), {"temperature": 0.4}, actor="a")
    r = await client.get("/compare", params={"a": "mira", "b": "nova"})
    assert r.status_code == 200
    keys = re.findall(r'<tr class="(differs|same)" data-key="([a-z_]+)"', r.text)
    differing = [k for kind, k in keys if kind == "differs"]
    assert differing[:2] == ["temperature", "top_p"] or set(differing) >= {"temperature", "top_p"}
    assert [kind for kind, _ in keys] == sorted((kind for kind, _ in keys), key=lambda k: k != "differs")
    r = await client.get("/compare", params={"in": "bots/mira", "from": "1", "to": "4"})
    assert r.status_code == 200 and "revision 1 → 4" in r.text and "0.2" in r.text and "0.4" in r.text
    assert (await client.get("/compare", params={"in": "bots/mira", "from": "x"})).status_code == 400
    assert (await client.get("/compare", params={"a": "mira", "b": "Nope"})).status_code == 400


async def test_propose_from_a_bot_page_then_approve_on_the_request_page(
        client: AsyncClient, runtime: Runtime, raw: asyncpg.Connection) -> None:
    r = await client.post("/bots/mira/propose", data={"patch": '{"temperature": 0.45}', "reason": "warmer"},
                          headers={**same_origin(client), "X-Actor": "alice"})
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    page = await client.get(location, headers={"X-Actor": "alice"})
    assert "You proposed it: another person must approve it." in page.text and 'id="approve"' not in page.text
    r = await client.post(location.split("?")[0] + "/approve", data={}, headers={**same_origin(client),
                                                                              "X-Actor": "alice"})
    assert r.status_code == 403
    page = await client.get(location, headers={"X-Actor": "bob"})
    assert 'id="approve"' in page.text and "0.45" in page.text
    r = await client.post(location.split("?")[0] + "/approve", data={"note": "fine"},
                          headers={**same_origin(client), "X-Actor": "bob"})
    assert r.status_code == 303
    page = await client.get(r.headers["location"], headers={"X-Actor": "bob"})
    assert 'id="request-status">applied' in page.text and "Applied as change" in page.text
    assert await raw.fetchval("SELECT actor FROM settings_events") == "alice"
    history = await client.get("/history", params={"in": "bots/mira"})
    assert "by alice, approved by bob" in history.text
    bad = await client.post("/bots/mira/propose", data={"patch": "{nope", "reason": "x"},
                            headers=same_origin(client))
    assert bad.status_code == 422 and "not JSON" in bad.text
    assert (await client.get("/requests")).status_code == 200
    assert await runtime.services.proposals.list_requests(Principal(name="x", role=Role.ADMIN), "pending") == []
