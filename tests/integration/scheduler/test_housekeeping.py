"""Housekeeping: the projection check (drift is logged, counted, shown as a failed run) and
the snapshot backstop."""

from __future__ import annotations

import asyncpg
from prometheus_client import REGISTRY

from app.domain import scopes
from app.services import settings_with_history
from app.store.database import Database
from tests.support.runtimes import MakeRuntime


async def test_the_projection_check_reports_drift_as_a_failed_run_and_a_metric(
        make_runtime: MakeRuntime, raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False)
    await rt.service.set_value(scopes.bot("mira"), "temperature", 0.5, actor="t")
    ok = await rt.jobs.run_now("projection_check")
    assert (ok.status, ok.handler, ok.attempts) == ("succeeded", "built-in", 1)
    assert REGISTRY.get_sample_value("botsettings_projection_drift") == 0
    await raw.execute("UPDATE settings_current SET value = '0.9'")  # the projection drifts from the log
    drifted = await rt.jobs.run_now("projection_check")
    assert drifted.status == "failed" and drifted.attempts == 1
    assert drifted.error is not None and "bots/mira temperature: value" in drifted.error
    assert "botsettings rebuild" in drifted.error
    assert REGISTRY.get_sample_value("botsettings_projection_drift") == 1
    view = {j.id: j for j in (await rt.jobs.jobs()).jobs}["projection_check"]
    assert view.last_run is not None and view.last_run.id == drifted.id and view.interval_source == "config"
    await rt.service.rebuild()
    assert (await rt.jobs.run_now("projection_check")).status == "succeeded"
    assert REGISTRY.get_sample_value("botsettings_projection_drift") == 0


async def test_the_snapshot_job_writes_the_snapshot_a_crashed_writer_left_due(
        make_runtime: MakeRuntime, db: Database, raw: asyncpg.Connection) -> None:
    rt = await make_runtime(schedule=False, snapshot_every=3)
    # Another process (snapshots off, as if it stopped right after its change) writes 4 events.
    other, _ = settings_with_history(db, snapshot_every=0)
    await other.patch(scopes.bot("mira"), {"temperature": 0.5, "top_p": 0.5, "memory_n_results": 3,
                                           "history_bridge_messages": 5}, actor="t")
    assert await raw.fetchval("SELECT count(*) FROM settings_snapshots") == 0
    run = await rt.jobs.run_now("settings_snapshot")
    assert (run.status, run.handler) == ("succeeded", "built-in")
    assert await raw.fetchval("SELECT array_agg(revision) FROM settings_snapshots") == [4]
    assert (await rt.jobs.run_now("settings_snapshot")).status == "succeeded"  # nothing due: no second one
    assert await raw.fetchval("SELECT count(*) FROM settings_snapshots") == 1
