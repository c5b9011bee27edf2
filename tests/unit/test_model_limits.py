"""The model limits' pure rules (app/domain/model_limits.py) and the catalogue's shape
(app/domain/model_catalogue.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from app.domain import registry, scopes
from app.domain.errors import ValidationFailed
from app.domain.events import delete_op, set_op
from app.domain.model_catalogue import DEFAULT_CATALOGUE, parse_catalogue
from app.domain.model_limits import Layers, ModelLimitsExceeded, check_all, check_changes
from app.domain.scopes import Scope
from tests.support.registries import BEFORE_RENAME, installed

GLOBAL, SPARK = scopes.GLOBAL, scopes.bot("spark")


def layers(state: dict[Scope, dict[str, Any]], yaml: dict[str, dict[str, Any]]) -> Layers:
    def stored(scope: Scope) -> Mapping[str, Any]:
        return state.get(scope, {})

    def known() -> list[str]:
        return sorted(set(yaml) | {s.id for s, v in state.items() if not s.is_global and v})
    return Layers(stored=stored, known_bots=known, yaml_for=lambda slug: yaml.get(slug, {}),
                  in_yaml=yaml.__contains__, env={})


def test_the_default_catalogue_is_valid_and_names_the_bots_models() -> None:
    specs = parse_catalogue(DEFAULT_CATALOGUE)
    assert {"grok-4-fast", "qwen3-8b", "llama-3.2-3b", "dolphin-qwen-3b"} <= set(specs)
    assert all(s.max_output_tokens <= s.context_window for s in specs.values())


@pytest.mark.parametrize(("catalogue", "fragment"), [
    ([], "expected a JSON object of model aliases"),
    ({"m": 5}, "expected an object with context_window"),
    ({"m": {"context_window": 4096}}, "'models.m.max_output_tokens': required"),
    ({"m": {"context_window": 4096, "max_output_tokens": 1, "colour": "red"}}, "unknown field(s) colour"),
    ({"m": {"context_window": 4096, "max_output_tokens": 1, "top_p": {"min": 0, "max": 3}}}, "'models.m.top_p'"),
    ({"m": {"context_window": True, "max_output_tokens": 1}}, "'models.m.context_window'"),
    ({" m": {"context_window": 4096, "max_output_tokens": 1}}, "without surrounding spaces"),
])
def test_a_bad_catalogue_is_refused_naming_the_entry(catalogue: Any, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_catalogue(catalogue)
    assert any(fragment in e.message for e in caught.value.errors), caught.value.errors


def test_a_bot_without_a_model_is_held_to_the_fallback_window() -> None:
    world = layers({GLOBAL: {"model_context_window_default": 16000}},
                   {"spark": {"history_tokens": 12000, "max_output_tokens": 4096, "default_model": None}})
    [spark] = check_all(world)
    assert spark.model is None and [v.rule for v in spark.violations] == ["context_window"]
    assert "the fallback window model_context_window_default 16000 (global)" in spark.violations[0].message


def test_a_change_that_keeps_or_shrinks_an_existing_excess_passes_and_a_larger_one_is_refused() -> None:
    world = layers({SPARK: {"history_tokens": 40000}}, {"spark": {"default_model": "llama-3.2-3b"}})
    keep, shrink, grow, unrelated = check_changes(
        [[set_op(GLOBAL, "temperature", 0.5)], [set_op(SPARK, "history_tokens", 30000)],
         [set_op(SPARK, "history_tokens", 35000)], [set_op(SPARK, "description", "x")]], world)
    assert keep is None and shrink is None and unrelated is None
    assert isinstance(grow, ModelLimitsExceeded)  # judged after the shrink to 30000 that passed
    assert grow.violations[0].excess == 35000 + 4096 - 32768


def test_removing_a_model_from_the_catalogue_names_the_bots_that_use_it() -> None:
    world = layers({}, {"nova": {"default_model": "qwen3-8b"}, "mira": {"default_model": "grok-4-fast"}})
    smaller = {k: v for k, v in DEFAULT_CATALOGUE.items() if k != "qwen3-8b"}
    [refusal] = check_changes([[set_op(GLOBAL, "models", smaller)]], world)
    assert refusal is not None and [v.bot for v in refusal.violations] == ["nova"]
    assert refusal.extra["violations"][0]["rule"] == "unknown_model"
    assert check_changes([[delete_op(GLOBAL, "models")]], world) == [None]


def test_a_registry_without_a_limit_key_turns_its_rules_off_and_without_the_catalogue_all_of_them() -> None:
    world = layers({SPARK: {"max_context_tokens": 64000}}, {"spark": {"default_model": "llama-3.2-3b"}})
    with installed(BEFORE_RENAME):  # no history_tokens: the window rule reads output alone
        assert check_changes([[set_op(SPARK, "max_output_tokens", 8000)]], world) == [None]
        [refusal] = check_changes([[set_op(SPARK, "max_output_tokens", 9000)]], world)
        assert refusal is not None and [v.rule for v in refusal.violations] == ["max_output_tokens"]
    with installed(registry.BUILTIN.overlay([], retired=["models"])):
        assert check_changes([[set_op(SPARK, "default_model", "anything")]], world) == [None]
        assert [c.ok for c in check_all(world)] == [True]
