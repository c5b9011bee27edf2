"""Property: any value the registry accepts for a key survives export and import
unchanged (pure: the export document's rendering and strict parsing). Whatever the
generator throws at it — nesting, NUL, huge integers, NaN, odd Unicode, look-alike
keys — is either refused up front or round-trips exactly; never accepted and then
unexportable (the issue-15 defect: a value nested 400 deep broke every export)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import ValidationFailed
from app.domain.export_doc import parse_export, render_export
from app.domain.registry import REGISTRY, Kind
from app.domain.scopes import bot
from app.domain.values import validate_value

SCOPE = bot("mira")
TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # any code point: NUL, surrogates excluded by the codec
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(TEXT, inner, max_size=4), max_leaves=25)


def deep(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(levels):
        value = {"k": value} if i % 2 else [value]
    return value


NESTED = st.integers(min_value=1, max_value=60).map(lambda n: {"deep": deep(n)})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def round_trip(key: str, value: Any) -> bool:
    """True if accepted (and then it must come back identical); False if refused."""
    try:
        accepted = validate_value(REGISTRY[key], value)
    except ValidationFailed:
        return False
    text = render_export({SCOPE: {key: accepted}}, include_global=False)
    back = parse_export(text, "export.yaml").values[SCOPE][key]
    assert _same(back, accepted), (accepted, back)
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(TEXT, JSON_VALUES, max_size=5) | NESTED)
def test_any_accepted_json_value_round_trips(value: dict[str, Any]) -> None:
    round_trip("nextcloud", value)


@settings(max_examples=300, deadline=None)
@given(TEXT | st.text(max_size=300))
def test_any_accepted_text_round_trips(value: str) -> None:
    assert round_trip("system_prompt", value) == ("\x00" not in value)


STR_LISTS = [k for k, d in REGISTRY.items() if d.kind is Kind.STR_LIST and d.writable]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(STR_LISTS or ["nextcloud"]), st.lists(TEXT, max_size=5))
def test_any_accepted_list_round_trips(key: str, value: list[str]) -> None:
    round_trip(key, value)


def test_the_limits_are_where_the_refusals_say() -> None:
    assert round_trip("nextcloud", {"deep": deep(30)})
    assert not round_trip("nextcloud", {"deep": deep(400)})  # accepted before issue 15, then export failed
    assert not round_trip("nextcloud", {"x": float("inf")})
    assert not round_trip("nextcloud", {"x": 10**30})
    assert not round_trip("nextcloud", {"x\x00": 1})
