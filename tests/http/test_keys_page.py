"""The keys page and a bot page that shows only the keys of its bot type, over HTTP."""

from __future__ import annotations

from httpx import AsyncClient

from app.domain import scopes
from app.runtime import Runtime


async def test_keys_page_lists_type_default_where_it_applies_and_legacy_names(client: AsyncClient) -> None:
    r = await client.get("/keys")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    row = r.text.split('id="key-history_tokens"')[1].split("</tr>")[0]
    assert "12000" in row and "chat, agent" in row and "max_context_tokens" in row and "positive_or_unset" in row
    assert "built in (botsettings" in row
    reserve = r.text.split('id="key-request_output_reserve"')[1].split("</tr>")[0]
    assert "global only" in reserve
    assert "XAI_API_KEY" in r.text  # environment-only keys are listed apart
    agent = await client.get("/keys?bot_type=agent")
    assert 'id="key-session_model"' in agent.text and 'id="key-include_summaries"' not in agent.text
    assert (await client.get("/keys?bot_type=robot")).status_code == 400


async def test_a_bot_page_renders_only_the_controls_of_its_type(client: AsyncClient, runtime: Runtime) -> None:
    chat = (await client.get("/bots/mira")).text
    assert "A <strong>chat</strong> bot" in chat
    assert "include_summaries" in chat
    assert "session_model" not in chat and "agent_context_warning_percent" not in chat
    await runtime.service.set_value(scopes.bot("mira"), "bot_type", "agent", actor="t")
    agent = (await client.get("/bots/mira")).text
    assert "An <strong>agent</strong> bot" in agent
    assert "session_model" in agent and "agent_context_warning_percent" in agent
    assert "include_summaries" not in agent
