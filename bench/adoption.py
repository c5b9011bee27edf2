"""A large migration (issue 5): 1,000 bots from one bots.yaml, as one change.

- planning (tolerant intake of the YAML and env, the plan against the stored state)
- the real run: ~15,000 events in ONE change, next to the same events written
  bot by bot (1,000 changes) in the same run — the baseline
- the second run, which finds nothing to do

Run: uv run python -m bench adoption
"""

from __future__ import annotations

import time

from app.config import Config
from app.domain import scopes
from app.domain.adoption import plan_adoption
from app.domain.intake import from_bots_yaml, from_env
from app.logging import configure_logging
from app.runtime import Runtime
from bench.common import fresh_database, report

BOTS = 1000


def big_yaml(n: int) -> str:
    lines = ["bot_settings_template:", "  history_tokens: 12000", "  history_bridge_messages: 4", "bots:"]
    for i in range(n):
        lines += [f"  bot{i:04d}:", f"    name: Bot {i}", f"    description: bot number {i} ✓",
                  "    system_prompt: |", *(f"      Line {k} of bot {i}'s prompt." for k in range(20)),
                  "    settings:", f"      temperature: {0.1 + (i % 10) / 10:.1f}",
                  f"      max_output_tokens: {512 + i}",
                  "      history_duration_seconds: 600", "      memory_n_results: 5", "      top_p: 0.9",
                  "      summary_count: 3", "      mystery: 1"]
    return "\n".join(lines) + "\n"


async def main() -> None:
    configure_logging("json", "warning")
    text = big_yaml(BOTS)
    env = {"LLM_BAWT_TEMPERATURE": "0.5", "LLM_BAWT_SEARCH_DEPTH": "advanced"}
    t0 = time.perf_counter()
    incoming = from_env(env).merge(from_bots_yaml([("bots.yaml", text)]))
    plan = plan_adoption(incoming, {}, overwrite=False)
    plan_s = time.perf_counter() - t0
    events = len(plan.operations())

    async with fresh_database() as url:
        rt = await Runtime.start(Config(database_url=url, migrate_on_start=False))
        try:
            t0 = time.perf_counter()
            outcome = await rt.services.adoption.migrate(env=env, yaml_documents=[("bots.yaml", text)], overwrite=False,
                                    dry_run=False, actor="bench", reason="bench")
            one_change_s = time.perf_counter() - t0
            assert outcome.result is not None and outcome.result.last_revision == events
            t0 = time.perf_counter()
            again = await rt.services.adoption.migrate(env=env, yaml_documents=[("bots.yaml", text)], overwrite=False,
                                  dry_run=False, actor="bench", reason="bench")
            noop_s = time.perf_counter() - t0
            assert again.result is None
        finally:
            await rt.close()
    async with fresh_database() as url:  # baseline: the same events, one change per bot
        rt = await Runtime.start(Config(database_url=url, migrate_on_start=False))
        try:
            t0 = time.perf_counter()
            for scope, values in incoming.values.items():
                await rt.service.patch(scope if scope.is_global else scopes.bot(scope.id), values, actor="bench")
            per_bot_s = time.perf_counter() - t0
        finally:
            await rt.close()

    report("adoption", [
        {"figure": f"plan {BOTS} bots from bots.yaml + env ({events} keys)", "value": plan_s, "unit": "s",
         "target": "≤ 5 s", "ok": plan_s <= 5},
        {"figure": f"migrate {BOTS} bots as ONE change ({events} events)", "value": one_change_s, "unit": "s",
         "target": "≤ 30 s", "ok": one_change_s <= 30, "baseline": per_bot_s,
         "baseline_name": f"same events as {len(incoming.values)} changes", "ratio": one_change_s / per_bot_s},
        {"figure": "second run (nothing to do)", "value": noop_s, "unit": "s", "target": "≤ 10 s", "ok": noop_s <= 10},
    ])
