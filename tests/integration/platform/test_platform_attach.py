"""`platform attach`: the platform's tables follow botsettings' log, and its own statements
(replayed from tests/support/platform.py) read and write through it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.domain.audit import EventFilter
from app.domain.errors import Conflict
from app.domain.scopes import GLOBAL, bot
from app.runtime import Runtime
from tests.support.platform import EXISTS, Platform
from tests.support.polling import eventually


async def adopt(runtime: Runtime, platform: Platform) -> None:
    """Fill the platform's tables, migrate them, attach."""
    await platform.set_value("global", "*", "temperature", 0.7)
    await platform.set_value("global", "*", "max_tokens", 2048)
    await platform.set_value("bot", "mira", "top_p", 0.8)
    await platform.upsert_profile({"slug": "mira", "name": "Mira", "system_prompt": "You are Mira.",
                                   "uses_tools": True, "color": "#ff0000", "nextcloud_config": {"room": "abc"}})
    await runtime.services.platform.migrate(None, overwrite=False, dry_run=False, actor="op", reason="")
    await runtime.services.platform.attach()


async def kinds(raw: asyncpg.Connection) -> dict[str, str]:
    rows = await raw.fetch("SELECT relname, relkind::text FROM pg_class WHERE relname IN "
                           "('runtime_settings', 'bot_profiles') AND pg_table_is_visible(oid)")
    return {r["relname"]: r["relkind"] for r in rows}


async def test_attach_serves_the_same_rows_and_the_start_up_check_leaves_the_tables(
        runtime: Runtime, platform: Platform, raw: asyncpg.Connection) -> None:
    await platform.set_value("global", "*", "temperature", 0.7)
    await platform.set_value("global", "*", "max_tokens", 2048)
    await platform.upsert_profile({"slug": "mira", "name": "Mira", "color": "#ff0000"})
    ids_before = {r["key"]: r["id"] for r in await raw.fetch("SELECT key, id FROM runtime_settings")}
    profile_before = await platform.get_profile("mira")
    await runtime.services.platform.migrate(None, overwrite=False, dry_run=False, actor="op", reason="")
    await runtime.services.platform.attach()

    assert await runtime.services.platform.status() == "attached"
    assert {r["relname"] for r in await raw.fetch(EXISTS, ["runtime_settings", "bot_profiles"])} == {
        "runtime_settings", "bot_profiles"}
    assert await platform.start_up() == []  # found its tables; created nothing; its index step passed
    assert await platform.get_scope_settings("global", "*") == {"temperature": 0.7, "max_output_tokens": 2048}
    ids_after = {r["key"]: r["id"] for r in await raw.fetch("SELECT key, id FROM runtime_settings")}
    assert ids_after == {"temperature": ids_before["temperature"], "max_output_tokens": ids_before["max_tokens"]}
    profile = await platform.get_profile("mira")
    assert profile is not None and profile_before is not None
    for column in ("id", "slug", "name", "system_prompt", "uses_tools", "color", "tts_mode", "created_at"):
        assert profile[column] == profile_before[column], column


async def test_the_platform_writes_through_the_log_and_reads_what_botsettings_writes(
        runtime: Runtime, runtimes: object, platform: Platform, raw: asyncpg.Connection) -> None:
    await adopt(runtime, platform)
    other = await runtimes.start()  # type: ignore[attr-defined]  # another serving process, listening
    await platform.set_value("global", "*", "temperature", 0.3)
    page = await runtime.services.history.history(EventFilter(scope=GLOBAL, key="temperature"))
    latest = page.events[0]
    assert (latest.value, latest.previous, latest.source) == (0.3, 0.7, "platform_table")
    assert latest.actor == "postgres (llm-bawt)" or latest.actor.endswith("(llm-bawt)")
    await eventually(lambda: other.service.global_snapshot().values["temperature"].value == 0.3)
    assert await raw.fetchval("SELECT revision FROM settings_head") == latest.revision

    await runtime.services.settings.patch(GLOBAL, {"top_p": 0.25}, actor="op")
    await runtime.services.settings.patch(bot("mira"), {"system_prompt": "You are new."}, actor="op")
    assert (await platform.get_scope_settings("global", "*"))["top_p"] == 0.25
    assert (await platform.get_profile("mira") or {})["system_prompt"] == "You are new."
    await runtime.services.settings.patch(bot("lumen"), {"name": "Lumen", "uses_search": True}, actor="op")
    lumen = await platform.get_profile("lumen")  # a bot made in botsettings is a profile row for the platform
    assert lumen is not None and lumen["id"] is not None
    assert (lumen["name"], lumen["uses_search"], lumen["tts_mode"], lumen["system_prompt"]) == (
        "Lumen", True, False, "")

    await platform.set_value("bot", "mira", "max_tokens", 512)  # a legacy name, mapped
    await eventually(lambda: runtime.service.stored(bot("mira")).get("max_output_tokens") == 512)
    assert (await platform.get_scope_settings("bot", "mira"))["max_output_tokens"] == 512
    assert await platform.delete_value("bot", "mira", "top_p") is True
    await eventually(lambda: "top_p" not in runtime.service.stored(bot("mira")))

    saved = await platform.upsert_profile({"slug": "mira", "uses_search": True, "avatar": "🦊"})
    assert (saved["uses_search"], saved["avatar"], saved["name"]) == (True, "🦊", "Mira")
    created = await platform.upsert_profile({"slug": "nova", "name": "Nova", "default_model": "grok-4"})
    assert created["id"] is not None and (await platform.get_profile("nova") or {})["default_model"] == "grok-4"
    await eventually(lambda: runtime.service.stored(bot("nova")).get("default_model") == "grok-4")
    events = await raw.fetch("SELECT DISTINCT change_id FROM settings_events WHERE scope_id = 'nova'")
    assert len(events) == 1  # the profile's columns came in as ONE change
    assert await platform.delete_profile("nova") is True
    assert await platform.get_profile("nova") is None
    assert await platform.get_profile("mira") is not None


@pytest.mark.parametrize(("scope_type", "scope_id", "key", "value", "reason"), [
    ("global", "*", "temperature", 7, "'temperature' in global: 7 is out of bounds"),
    ("global", "*", "temperature", "hot", "expected a number, got string"),
    ("global", "*", "no_such_key", 1, "unknown setting 'no_such_key'"),
    ("global", "*", "name", "Mira", "'name' cannot be set in the global scope"),
    ("bot", "mira", "search_depth", "deep", "'deep' is not one of basic, advanced"),
    ("global", "*", "database_url", "postgresql://x", "belongs in the environment"),
    ("bot", "Bad Slug", "temperature", 0.5, "is not a scope"),
])
async def test_an_invalid_write_is_refused_naming_key_and_reason_and_writes_nothing(
        runtime: Runtime, platform: Platform, raw: asyncpg.Connection, scope_type: str, scope_id: str, key: str,
        value: object, reason: str) -> None:
    await adopt(runtime, platform)
    head = await raw.fetchval("SELECT revision FROM settings_head")
    rows = await raw.fetchval("SELECT count(*) FROM settings_current")
    with pytest.raises(asyncpg.CheckViolationError, match=reason) as refused:
        await platform.set_value(scope_type, scope_id, key, value)
    assert "botsettings refused" in str(refused.value)
    assert await raw.fetchval("SELECT revision FROM settings_head") == head
    assert await raw.fetchval("SELECT count(*) FROM settings_current") == rows
    assert await raw.fetchval("SELECT count(*) FROM settings_changes WHERE source = 'platform_table'") == 0


async def test_an_invalid_profile_write_is_refused(runtime: Runtime, platform: Platform,
                                                   raw: asyncpg.Connection) -> None:
    await adopt(runtime, platform)
    head = await raw.fetchval("SELECT revision FROM settings_head")
    with pytest.raises(asyncpg.CheckViolationError, match="'description' in bots/mira: is 5000 characters"):
        await platform.upsert_profile({"slug": "mira", "uses_search": True, "description": "x" * 5000})
    assert await raw.fetchval("SELECT revision FROM settings_head") == head
    assert (await platform.get_profile("mira") or {})["uses_search"] is False  # the valid column did not land


async def test_detach_leaves_real_tables_with_the_current_state(runtime: Runtime, platform: Platform,
                                                                raw: asyncpg.Connection) -> None:
    await adopt(runtime, platform)
    await runtime.services.settings.patch(GLOBAL, {"top_p": 0.25}, actor="op")
    await platform.set_value("global", "*", "temperature", 0.1)
    seen = await platform.get_scope_settings("global", "*")
    ids = {r["key"]: r["id"] for r in await raw.fetch("SELECT key, id FROM runtime_settings")}
    profile = await platform.get_profile("mira")
    await runtime.services.platform.detach()

    assert await kinds(raw) == {"runtime_settings": "r", "bot_profiles": "r"}
    assert await platform.get_scope_settings("global", "*") == seen
    assert {r["key"]: r["id"] for r in await raw.fetch("SELECT key, id FROM runtime_settings")} == ids
    assert await platform.get_profile("mira") == profile
    assert not await raw.fetch("SELECT 1 FROM pg_class WHERE relname LIKE 'botsettings_platform%'")
    assert not await raw.fetch("SELECT 1 FROM pg_trigger WHERE tgname LIKE 'botsettings_platform%'")
    await platform.set_value("global", "*", "search_depth", "advanced")  # a plain table again: no log
    assert "search_depth" not in runtime.service.stored(GLOBAL)
    assert await platform.start_up() == []
    await raw.execute("DROP TABLE runtime_settings_platform_backup, bot_profiles_platform_backup")
    await runtime.services.platform.attach(force=True)  # and it can be attached again
    assert await runtime.services.platform.status() == "attached"
    assert "search_depth" not in await platform.get_scope_settings("global", "*")  # botsettings' state again


async def test_attach_refuses_while_the_tables_hold_values_not_imported(runtime: Runtime,
                                                                       platform: Platform) -> None:
    await platform.set_value("global", "*", "temperature", 0.7)
    with pytest.raises(Conflict, match="Run `botsettings migrate --from-platform-db`"):
        await runtime.services.platform.attach()
    assert await runtime.services.platform.status() == "detached"


async def test_the_log_invariants_hold_and_a_rebuild_keeps_the_platform_rows(
        runtime: Runtime, platform: Platform, raw: asyncpg.Connection) -> None:
    await adopt(runtime, platform)
    await platform.set_value("global", "*", "temperature", 0.2)
    await platform.set_value("global", "*", "temperature", 0.2)  # the same value again: no event
    await platform.upsert_profile({"slug": "mira", "uses_search": True, "voice_optimized": True})
    revisions = [r["revision"] for r in await raw.fetch("SELECT revision FROM settings_events ORDER BY 1")]
    assert revisions == list(range(1, len(revisions) + 1))  # gapless, in order
    changes = await raw.fetch("SELECT first_revision, last_revision, event_count FROM settings_changes "
                              "WHERE source = 'platform_table' ORDER BY first_revision")
    assert [(c["last_revision"] - c["first_revision"] + 1, c["event_count"]) for c in changes] == [(1, 1), (2, 2)]
    assert (await runtime.services.settings.verify()).ok
    rows = await raw.fetch("SELECT * FROM runtime_settings ORDER BY id")
    profile = await platform.get_profile("mira")
    await runtime.services.settings.rebuild()
    assert await raw.fetch("SELECT * FROM runtime_settings ORDER BY id") == rows
    after = await platform.get_profile("mira")
    assert after is not None and profile is not None
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in profile.items() if k != "updated_at"}
    assert after["color"] == "#ff0000"  # a column botsettings has no setting for, kept


async def test_a_platform_write_and_a_botsettings_commit_on_the_same_row_do_not_deadlock(
        runtime: Runtime, platform: Platform, raw: asyncpg.Connection) -> None:
    """A botsettings change holds the head lock and copies itself into the platform's row at
    commit; a platform statement on that row meanwhile must wait for the head before it
    locks the row, or each would wait for the other."""
    await adopt(runtime, platform)
    await raw.execute("BEGIN")
    await raw.execute("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE")  # a change in flight
    await raw.execute("UPDATE settings_current SET value = '0.9' WHERE scope_type = 'global' AND key = 'temperature'")
    write = asyncio.create_task(platform.conn.execute(
        "UPDATE runtime_settings SET value_json = '0.4' WHERE scope_type = 'global' AND key = 'temperature'"))
    await asyncio.sleep(0.3)
    assert not write.done()  # waiting for the head, holding no row
    await raw.execute("COMMIT")  # the copy into the platform's row runs now, unblocked
    assert await asyncio.wait_for(write, 10) == "UPDATE 1"
    assert (await platform.get_scope_settings("global", "*"))["temperature"] == 0.4
    await eventually(lambda: runtime.service.stored(GLOBAL).get("temperature") == 0.4)
