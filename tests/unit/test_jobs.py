"""The job catalogue, run parameters, the reschedule rule and scheduled-patch
validation: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain import jobs, scopes
from app.domain.errors import NotFound, ValidationFailed
from app.domain.events import Op, Source
from app.domain.resolution import LayerValues, build_snapshot
from app.domain.scheduled import change_request, validate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def snap(slug: str | None, bot: dict | None = None, glob: dict | None = None, yaml: dict | None = None,  # type: ignore[type-arg]
         revision: int = 7):
    return build_snapshot(slug, revision, LayerValues(bot=bot or {}, global_=glob or {}, yaml=yaml or {}, env={}))


def test_one_summarization_job_per_bot_and_one_profile_job_with_interval_sources() -> None:
    glob = {"history_summarization_interval_minutes": 11}
    specs = jobs.catalogue({"nova": snap("nova", glob=glob), "mira": snap("mira", bot={
        "history_summarization_interval_minutes": 5}, glob=glob)}, snap(None, glob={
            "profile_maintenance_interval_minutes": 90}))
    assert [(s.id, s.interval_minutes, s.interval_source) for s in specs] == [
        ("history_summarization:mira", 5, "bot"), ("history_summarization:nova", 11, "global"),
        ("profile_maintenance", 90, "global")]


@pytest.mark.parametrize(("bot", "glob", "yaml", "model"), [
    ({}, {}, {}, "dolphin-qwen-3b"),
    ({"summarization_model": ""}, {"maintenance_model": "m"}, {}, "m"),
    # maintenance_model is the platform's last resort and always has a value (its default)
    ({"summarization_model": ""}, {}, {"default_model": "grok-4-fast"}, "dolphin-qwen-3b"),
    ({"summarization_model": ""}, {"maintenance_model": ""}, {"default_model": "grok-4-fast"}, "grok-4-fast"),
    ({"summarization_model": ""}, {"maintenance_model": ""}, {}, None),
])
def test_the_summarization_model_falls_through_empty_values(bot, glob, yaml, model) -> None:  # type: ignore[no-untyped-def]
    params = jobs.summarization_parameters(snap("mira", bot, glob, yaml))
    assert params["model"] == model and params["revision"] == 7 and params["batch_concurrency"] == 3


def test_profile_parameters_give_each_bot_its_model() -> None:
    params = jobs.profile_parameters(snap(None, glob={"maintenance_model": "x"}),
                                     {"mira": snap("mira", bot={"profile_maintenance_model": "p"}),
                                      "nova": snap("nova", yaml={"default_model": "q"}),
                                      "zed": snap("zed", yaml={"default_model": "q", "maintenance_model": ""})})
    assert params["model"] == "x"  # profile_maintenance_model "" → the global maintenance_model
    assert params["bots"] == {"mira": {"model": "p"}, "nova": {"model": "dolphin-qwen-3b"}, "zed": {"model": "q"}}


def test_a_changed_interval_counts_from_the_last_run_or_runs_now() -> None:
    anchor = NOW - timedelta(minutes=10)
    assert jobs.next_run_after_change(anchor, timedelta(minutes=30), NOW) == NOW + timedelta(minutes=20)
    assert jobs.next_run_after_change(anchor, timedelta(minutes=5), NOW) == NOW


def test_find_names_the_missing_job() -> None:
    with pytest.raises(NotFound, match="no job 'x'"):
        jobs.find([], "x")


def test_a_scheduled_patch_is_validated_and_made_canonical() -> None:
    mira = scopes.bot("mira")
    assert validate(mira, {"max_tokens": 100, "top_p": None}, actor="a", reason="", apply_at=NOW + timedelta(1),
                    now=NOW) == {"max_output_tokens": 100, "top_p": None}
    with pytest.raises(ValidationFailed) as bad:
        validate(mira, {}, actor="a", reason="", apply_at=NOW, now=NOW)
    assert {e.key for e in bad.value.errors} == {"apply_at", "patch"}
    request = change_request(mira, {"temperature": 0.3, "top_p": None}, actor="a", reason="r")
    assert [(o.key, o.op) for o in request.ops] == [("temperature", Op.SET), ("top_p", Op.DELETE)]
    assert request.source is Source.SCHEDULER and request.reason == "r"
