"""`migrate --from-platform-db` through PlatformService: every row's fate, one change,
idempotent, and the platform's tables only read."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from app.domain.errors import ValidationFailed
from app.domain.events import Source
from app.domain.platform_import import Fate, RowFate
from app.domain.scopes import GLOBAL, bot
from app.runtime import Runtime
from tests.support.platform import Platform


async def fill(platform: Platform) -> None:
    """A platform in use: global and bot values, a legacy name, bad rows, two bots."""
    await platform.set_value("global", "*", "temperature", 0.7)
    await platform.set_value("global", "*", "max_tokens", 2048)  # the legacy name of max_output_tokens
    await platform.set_value("global", "*", "top_p", 0.9)  # botsettings stores 0.5: differs
    await platform.set_value("global", "*", "search_depth", "basic")  # botsettings stores it: unchanged
    await platform.set_value("bot", "mira", "temperature", 7)  # out of bounds
    await platform.set_value("bot", "mira", "history_duration_seconds", 600)
    await platform.set_value("bot", "mira", "no_such_key", 1)
    await platform.set_value("bot", "Bad Slug", "temperature", 0.3)
    await platform.conn.execute(  # a row the platform's own reader skips: its JSON does not parse
        "INSERT INTO runtime_settings (scope_type, scope_id, key, value_json, updated_at) "
        "VALUES ('global', '*', 'memory_n_results', '{not json', now())")
    await platform.upsert_profile({"slug": "mira", "name": "Mira", "system_prompt": "You are Mira.",
                                   "uses_tools": True, "default_model": "grok-4-fast", "color": "#ff0000",
                                   "nextcloud_config": {"room": "abc"}})
    await platform.upsert_profile({"slug": "nova", "description": "x" * 5000})  # description too long


async def dump(raw: asyncpg.Connection) -> list[Any]:
    return [list(map(tuple, await raw.fetch(f"SELECT * FROM {t} ORDER BY id")))
            for t in ("runtime_settings", "bot_profiles")]


def fate_of(rows: list[RowFate], table: str, name: str, scope: str | None = None) -> RowFate:
    found = [r for r in rows if r.table == table and r.name == name and (scope is None or r.scope == scope)]
    assert len(found) == 1, found
    return found[0]


async def test_dry_run_reports_every_row_and_the_migration_is_one_idempotent_change(
        runtime: Runtime, platform: Platform, raw: asyncpg.Connection) -> None:
    await fill(platform)
    service = runtime.services.settings
    await service.patch(GLOBAL, {"top_p": 0.5, "search_depth": "basic"}, actor="op")
    before, head = await dump(raw), await service.head()

    dry = await runtime.services.platform.migrate(None, overwrite=False, dry_run=True, actor="op", reason="")
    rows = dry.plan.rows
    settings_rows = await raw.fetchval("SELECT count(*) FROM runtime_settings")
    assert len([r for r in rows if r.table == "runtime_settings"]) == settings_rows  # every row reported
    assert fate_of(rows, "runtime_settings", "temperature", "global").fate is Fate.ADD
    legacy = fate_of(rows, "runtime_settings", "max_tokens")
    assert (legacy.fate, legacy.key, legacy.value) == (Fate.ADD, "max_output_tokens", 2048)
    top_p = fate_of(rows, "runtime_settings", "top_p")
    assert (top_p.fate, top_p.stored, top_p.value) == (Fate.DIFFERS, 0.5, 0.9)
    assert "not valid JSON" in fate_of(rows, "runtime_settings", "memory_n_results").reason
    assert fate_of(rows, "runtime_settings", "search_depth").fate is Fate.UNCHANGED
    bounds = fate_of(rows, "runtime_settings", "temperature", "bots/mira")
    assert bounds.fate is Fate.REFUSED and "out of bounds" in bounds.reason
    assert "unknown setting" in fate_of(rows, "runtime_settings", "no_such_key").reason
    assert "invalid bot slug" in next(r for r in rows if r.fate is Fate.REFUSED and r.scope is None).reason
    assert fate_of(rows, "bot_profiles", "uses_tools", "bots/mira").value is True
    assert fate_of(rows, "bot_profiles", "nextcloud_config", "bots/mira").key == "nextcloud"
    assert "no setting for this column" in fate_of(rows, "bot_profiles", "color", "bots/mira").reason
    assert fate_of(rows, "bot_profiles", "description", "bots/nova").fate is Fate.REFUSED
    assert await service.head() == head  # a dry run writes nothing

    done = await runtime.services.platform.migrate(None, overwrite=False, dry_run=False, actor="op", reason="")
    assert done.result is not None and done.result.change_id is not None
    changes = await raw.fetch("SELECT DISTINCT change_id, source FROM settings_events WHERE revision > $1", head)
    assert [(c["change_id"], c["source"]) for c in changes] == [(done.result.change_id, Source.MIGRATION.value)]
    adds = [r for r in rows if r.fate is Fate.ADD]
    assert done.result.last_revision - head == len(adds)
    assert service.stored(GLOBAL)["top_p"] == 0.5  # differs: skipped without --overwrite
    assert service.stored(GLOBAL)["max_output_tokens"] == 2048
    assert service.stored(bot("mira"))["nextcloud"] == {"room": "abc"}
    assert await dump(raw) == before  # the platform's tables are only read

    again = await runtime.services.platform.migrate(None, overwrite=False, dry_run=False, actor="op", reason="")
    assert again.result is None and not [r for r in again.plan.rows if r.fate is Fate.ADD]
    over = await runtime.services.platform.migrate(None, overwrite=True, dry_run=False, actor="op", reason="")
    assert over.result is not None and service.stored(GLOBAL)["top_p"] == 0.9


async def test_migrate_reads_another_database_by_url(runtime: Runtime, platform: Platform,
                                                     db_url: str) -> None:
    await platform.set_value("global", "*", "temperature", 0.4)
    outcome = await runtime.services.platform.migrate(db_url, overwrite=False, dry_run=False, actor="op",
                                                      reason="")
    assert outcome.result is not None and runtime.service.stored(GLOBAL)["temperature"] == 0.4


async def test_a_database_without_the_platform_tables_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed, match="neither runtime_settings nor bot_profiles"):
        await runtime.services.platform.migrate(None, overwrite=False, dry_run=True, actor="op", reason="")


async def test_an_attached_database_has_nothing_to_import(runtime: Runtime, platform: Platform) -> None:
    await runtime.services.platform.attach()
    with pytest.raises(ValidationFailed, match="the platform is attached to this database"):
        await runtime.services.platform.migrate(None, overwrite=False, dry_run=True, actor="op", reason="")
