"""`botsettings migrate --from-platform-db` and `platform attach | status | detach`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from app.store.engine import asyncpg_dsn
from tests.support.cli import cli_env, run_cli
from tests.support.platform import Platform


def fill(db_url: str) -> None:
    async def go() -> None:
        platform = await Platform.connect(asyncpg_dsn(db_url))
        try:
            await platform.start_up()
            await platform.set_value("global", "*", "temperature", 0.6)
            await platform.set_value("global", "*", "top_p", 3)
            await platform.upsert_profile({"slug": "mira", "name": "Mira", "uses_tools": True})
        finally:
            await platform.close()
    asyncio.run(go())


def test_migrate_dry_run_then_run_then_attach_and_detach(db_url: str, tmp_path: Path) -> None:
    fill(db_url)
    env = cli_env(db_url, tmp_path)
    dry = run_cli("migrate", "--from-platform-db", "--dry-run", env=env)
    assert "+ runtime_settings #1 temperature → global temperature = 0.6" in dry.stdout
    assert "! runtime_settings #2 top_p (global): refused, 'top_p': 3.0 is out of bounds" in dry.stdout
    assert "dry run: nothing written" in dry.stdout

    plan = json.loads(run_cli("migrate", "--from-platform-db", db_url, "--json", env=env).stdout)
    assert plan["result"]["change_id"] and plan["source_database"] == "the platform's database"
    assert {r["fate"] for r in plan["plan"]["rows"]} == {"add", "refused"}
    again = run_cli("migrate", "--from-platform-db", env=env)
    assert "nothing to do" in again.stdout

    attached = run_cli("platform", "attach", env=env)
    assert "attached: runtime_settings holds 1 row(s), bot_profiles 1" in attached.stdout
    assert run_cli("platform", "status", env=env).stdout.strip() == "attached"
    run_cli("platform", "attach", env=env, code=3)  # already attached: refused, exit 3
    run_cli("set", "--global", "temperature", "0.9", env=env)
    assert run_cli("platform", "detach", env=env).stdout.startswith("detached")
    assert run_cli("platform", "status", env=env).stdout.strip() == "detached"


def test_migrate_refuses_mixing_sources(db_url: str, tmp_path: Path) -> None:
    result = run_cli("migrate", "--from-platform-db", "--from-env", env=cli_env(db_url, tmp_path), code=2)
    assert "migration of its own" in result.output
