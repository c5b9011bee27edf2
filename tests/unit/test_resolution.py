"""Precedence and provenance, as pure functions."""

from __future__ import annotations

import pytest

from app.domain import scopes
from app.domain.errors import ValidationFailed
from app.domain.resolution import Layer, LayerValues, build_snapshot, explain, validate_overrides

ALL = {"bot": 0.1, "global_": 0.2, "yaml": 0.3, "env": 0.4}


@pytest.mark.parametrize("winner", ["bot", "global_", "yaml", "env", "default"])
def test_each_layer_wins_when_the_layers_above_it_are_empty(winner: str) -> None:
    order = ["bot", "global_", "yaml", "env", "default"]
    present = order[order.index(winner):]
    layers = LayerValues(**{name: ({"temperature": ALL[name]} if name in present else {})
                            for name in ("bot", "global_", "yaml", "env")})
    snap = build_snapshot("mira", 7, layers)
    expected = {"bot": 0.1, "global_": 0.2, "yaml": 0.3, "env": 0.4, "default": 0.8}[winner]
    assert snap["temperature"] == expected
    assert snap.source("temperature") is Layer(winner.rstrip("_"))
    assert snap.with_overrides({"temperature": 0.9}).values["temperature"].source is Layer.REQUEST
    assert snap["temperature"] == expected  # overrides never touch the original


def test_snapshot_is_immutable_and_names_default_from_slug() -> None:
    snap = build_snapshot("nova", 1, LayerValues(bot={}, global_={}, yaml={}, env={}))
    assert snap["name"] == "Nova" and snap.source("name") is Layer.DEFAULT
    with pytest.raises(TypeError):
        snap.values["temperature"] = None  # type: ignore[index]
    # a global-only key acts on every bot: it is in a bot's snapshot, from the global layer down
    assert (snap["request_output_reserve"], snap.source("request_output_reserve")) == (4096, Layer.DEFAULT)
    glob_set = build_snapshot("nova", 1, LayerValues(bot={}, global_={"request_output_reserve": 100}, yaml={}, env={}))
    assert (glob_set["request_output_reserve"], glob_set.source("request_output_reserve")) == (100, Layer.GLOBAL)
    glob = build_snapshot(None, 1, LayerValues(bot={}, global_={}, yaml={}, env={}))
    assert "profile_maintenance_interval_minutes" in glob.values and "name" not in glob.values


def test_explain_lists_every_layer_top_down() -> None:
    layers = LayerValues(bot={}, global_={"temperature": 0.2}, yaml={"temperature": 0.3}, env={})
    readings = explain("temperature", "mira", layers, {"temperature": 0.5})
    assert [(r.layer.value, r.present, r.value) for r in readings] == [
        ("request", True, 0.5), ("bot", False, None), ("global", True, 0.2), ("yaml", True, 0.3),
        ("env", False, None), ("default", True, 0.8)]


def test_overrides_are_validated_like_writes() -> None:
    assert validate_overrides({"temperature": 1, "max_tokens": 5}, scopes.bot("m"))[0] == {
        "temperature": 1.0, "max_output_tokens": 5}
    with pytest.raises(ValidationFailed) as exc:
        validate_overrides({"temperature": 5, "bogus": 1, "database_url": "x"}, scopes.bot("m"))
    assert [e.key for e in exc.value.errors] == ["temperature", "bogus", "database_url"]
