"""Jobs follow the settings live: intervals from every layer, bots coming and going."""

from __future__ import annotations

import time
from datetime import timedelta

from app.domain import scopes
from app.domain.events import Source
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime
from tests.support.scheduler import Recorder, leader_of

MIRA = "history_summarization:mira"


async def test_changing_a_bots_interval_moves_its_next_run_within_a_second(make_runtime: MakeRuntime) -> None:
    leader = await make_runtime(handlers={"history_summarization": Recorder()})
    other = await make_runtime(schedule=False)  # another process, e.g. the CLI
    await leader_of(leader)
    scheduler = leader.scheduler
    assert scheduler is not None
    before = await eventually(lambda: scheduler.next_run(MIRA))
    await other.service.set_value(scopes.bot("mira"), "history_summarization_interval_minutes", 5, actor="t",
                                  source=Source.CLI)
    started = time.monotonic()
    after = await eventually(lambda: scheduler.next_run(MIRA) != before and scheduler.next_run(MIRA), timeout=1.0)
    assert time.monotonic() - started < 1.0
    # As if the interval had always been 5 minutes: 15 minutes earlier than the yaml's 20.
    assert abs((before - after) - timedelta(minutes=15)) < timedelta(seconds=1)
    view = {j.id: j for j in (await leader.jobs.jobs()).jobs}[MIRA]
    assert (view.interval_minutes, view.interval_source, view.next_run) == (5, "bot", after)


async def test_a_global_change_moves_every_bot_that_inherits_it_but_not_one_with_its_own_value(
        make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(handlers={"history_summarization": Recorder()})
    await leader_of(rt)
    scheduler = rt.scheduler
    assert scheduler is not None
    key = "history_summarization_interval_minutes"
    await rt.service.set_value(scopes.bot("nova"), key, 7, actor="t")
    await eventually(lambda: scheduler._intervals.get("history_summarization:nova") == 7 * 60)
    before = {j: scheduler.next_run(f"history_summarization:{j}") for j in ("mira", "nova", "spark")}
    await rt.service.set_value(scopes.GLOBAL, key, 11, actor="t")
    await eventually(lambda: scheduler._intervals.get(MIRA) == 11 * 60, timeout=1.0)
    after = {j: scheduler.next_run(f"history_summarization:{j}") for j in ("mira", "nova", "spark")}
    assert after["nova"] == before["nova"]
    assert after["mira"] != before["mira"] and after["spark"] != before["spark"]
    jobs = {j.id: j for j in (await rt.jobs.jobs()).jobs}
    assert [(jobs[f"history_summarization:{b}"].interval_minutes, jobs[f"history_summarization:{b}"].interval_source)
            for b in ("mira", "nova", "spark")] == [(11, "global"), (7, "bot"), (11, "global")]
    # A rollback-style delete of the global value: mira is back on its bots.yaml value.
    await rt.service.delete_value(scopes.GLOBAL, key, actor="t", source=Source.ROLLBACK)
    await eventually(lambda: scheduler._intervals.get(MIRA) == 20 * 60, timeout=1.0)


async def test_a_new_bot_gets_its_job_and_a_removed_one_loses_it(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(handlers={"history_summarization": Recorder()})
    await leader_of(rt)
    scheduler = rt.scheduler
    assert scheduler is not None
    zed = "history_summarization:zed"
    assert scheduler.next_run(zed) is None
    await rt.service.set_value(scopes.bot("zed"), "temperature", 0.4, actor="t")
    await eventually(lambda: scheduler.next_run(zed), timeout=1.0)
    await rt.service.delete_value(scopes.bot("zed"), "temperature", actor="t")
    await eventually(lambda: scheduler.next_run(zed) is None, timeout=1.0)
    assert zed not in {j.id for j in (await rt.jobs.jobs()).jobs}


async def test_profile_maintenance_follows_the_global_interval(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(handlers={"profile_maintenance": Recorder()})
    await leader_of(rt)
    scheduler = rt.scheduler
    assert scheduler is not None
    await eventually(lambda: scheduler._intervals.get("profile_maintenance") == 60 * 60)
    await rt.service.set_value(scopes.GLOBAL, "profile_maintenance_interval_minutes", 2, actor="t")
    await eventually(lambda: scheduler._intervals.get("profile_maintenance") == 2 * 60, timeout=1.0)


async def test_each_run_gets_its_parameters_resolved_at_one_revision(make_runtime: MakeRuntime) -> None:
    recorder = Recorder()
    rt = await make_runtime(schedule=False, handlers={"history_summarization": recorder,
                                                      "profile_maintenance": recorder})
    run = await rt.jobs.run_now(MIRA)
    assert run.status == "succeeded" and run.trigger == "manual"
    assert recorder.calls[-1].parameters["model"] == "dolphin-qwen-3b"  # maintenance_model's default
    change = await rt.service.patch(scopes.bot("mira"), {"summarization_model": "", "summarization_batch_size": 9,
                                                         "summarization_min_messages": 6, "maintenance_model": ""},
                                    actor="t")
    await rt.jobs.run_now(MIRA)
    params = recorder.calls[-1].parameters
    assert params["model"] == "grok-4-fast"  # "" → maintenance_model "" → the bot's default_model
    assert (params["batch_size"], params["min_messages"], params["session_gap_seconds"]) == (9, 6, 3600)
    assert params["revision"] == recorder.calls[-1].revision == change.last_revision
    await rt.service.delete_value(scopes.bot("mira"), "maintenance_model", actor="t")
    await rt.service.set_value(scopes.GLOBAL, "maintenance_model", "small-model", actor="t")
    await rt.jobs.run_now(MIRA)
    assert recorder.calls[-1].parameters["model"] == "small-model"
    await rt.jobs.run_now("profile_maintenance")
    assert recorder.calls[-1].parameters["bots"]["nova"] == {"model": "small-model"}
    runs = await rt.jobs.runs(MIRA)
    assert [r.settings_revision for r in runs] == [change.last_revision + 2, change.last_revision, 0]


async def test_a_job_without_a_handler_is_listed_as_such_and_never_runs(make_runtime: MakeRuntime) -> None:
    import pytest

    from app.domain.errors import Conflict

    rt = await make_runtime()
    await leader_of(rt)
    jobs = {j.id: j for j in (await rt.jobs.jobs()).jobs}
    assert (jobs[MIRA].handler, jobs[MIRA].next_run) == ("no handler", None)
    assert jobs["projection_check"].handler == "built-in" and jobs["projection_check"].next_run is not None
    with pytest.raises(Conflict, match="no handler"):
        await rt.jobs.run_now(MIRA)
    assert await rt.jobs.runs(MIRA) == []
