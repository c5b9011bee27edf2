"""Adopting a running platform from its own tables (issue 22).

- a platform write (its set_value: SELECT, then UPDATE by id, in one transaction)
  on an attached table — validated in SQL and appended to the log by triggers —
  next to the same statements on its plain table (the baseline: what the platform
  paid before attach), and next to the same value written by SettingsService.set_value
- migrate --from-platform-db of 1,000 bots (a profile row and 10 settings each) as
  one change

The platform's statements come from tests/support/platform.py (facts of its code).
Run: uv run python -m bench platform
"""

from __future__ import annotations

import time

from app.config import Config
from app.domain.scopes import GLOBAL
from app.logging import configure_logging
from app.runtime import Runtime
from app.store.engine import asyncpg_dsn
from bench.common import fresh_database, report, summary
from tests.support.platform import Platform

WRITES = 300
BOTS = 1000


async def timed_writes(platform: Platform, n: int) -> list[float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        await platform.set_value("global", "*", "temperature", round(0.1 + (i % 19) / 10, 1))
        times.append(time.perf_counter() - t0)
    return times


async def main() -> None:
    configure_logging("json", "warning")
    async with fresh_database() as url:
        platform = await Platform.connect(asyncpg_dsn(url))
        rt = await Runtime.start(Config(database_url=url, migrate_on_start=False))
        try:
            await platform.start_up()
            await platform.conn.execute("BEGIN")
            for i in range(BOTS):
                slug = f"bot{i:04d}"
                await platform.conn.execute(
                    "INSERT INTO bot_profiles (slug, name, description, system_prompt, requires_memory, "
                    "voice_optimized, tts_mode, include_summaries, include_in_global_search, uses_tools, "
                    "uses_search, uses_home_assistant, created_at, updated_at) VALUES ($1, $2, '', $3, true, "
                    "false, false, true, true, false, false, false, now(), now())",
                    slug, f"Bot {i}", f"You are bot {i}.")
                await platform.conn.executemany(
                    "INSERT INTO runtime_settings (scope_type, scope_id, key, value_json, updated_at) "
                    "VALUES ('bot', $1, $2, $3, now())",
                    [(slug, key, value) for key, value in (
                        ("temperature", "0.5"), ("top_p", "0.9"), ("max_tokens", str(512 + i)),
                        ("history_duration_seconds", "600"), ("memory_n_results", "5"),
                        ("search_depth", '"basic"'), ("search_max_results", "5"), ("max_tool_calls_per_turn", "4"),
                        ("summarization_min_messages", "4"), ("history_bridge_messages", "4"))])
            await platform.conn.execute("COMMIT")
            plain = await timed_writes(platform, WRITES)
            t0 = time.perf_counter()
            outcome = await rt.services.platform.migrate(None, overwrite=False, dry_run=False, actor="bench",
                                                         reason="bench")
            migrate_s = time.perf_counter() - t0
            assert outcome.result is not None
            events = outcome.result.last_revision or 0
            t0 = time.perf_counter()
            await rt.services.platform.attach()
            attach_s = time.perf_counter() - t0
            attached = await timed_writes(platform, WRITES)
            service = []
            for i in range(WRITES):
                t0 = time.perf_counter()
                await rt.service.set_value(GLOBAL, "temperature", round(0.15 + (i % 18) / 10, 2), actor="bench")
                service.append(time.perf_counter() - t0)
        finally:
            await rt.close()
            await platform.close()
    a, p, s = summary(attached), summary(plain), summary(service)
    report("platform", [
        {"figure": f"platform set_value on the attached table, p50 of {WRITES}", "value": a["p50"] * 1000,
         "unit": "ms", "target": "≤ 20 ms", "ok": a["p50"] * 1000 <= 20, "baseline": p["p50"] * 1000,
         "baseline_name": "the same statements on its plain table", "ratio": a["p50"] / p["p50"]},
        {"figure": "the same, against SettingsService.set_value", "value": a["p50"] * 1000, "unit": "ms",
         "baseline": s["p50"] * 1000, "baseline_name": "SettingsService.set_value p50", "ratio": a["p50"] / s["p50"]},
        {"figure": f"migrate --from-platform-db, {BOTS} bots ({events} events, one change)", "value": migrate_s,
         "unit": "s", "target": "≤ 30 s", "ok": migrate_s <= 30},
        {"figure": f"attach with {BOTS} bots", "value": attach_s, "unit": "s", "target": "≤ 30 s",
         "ok": attach_s <= 30},
    ], extra={"attached": a, "plain": p, "service": s})
