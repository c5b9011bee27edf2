"""The input boundary's pure rules (app/domain/input_checks.py): each refusal is a
BadRequest naming the field and the limit; nothing here may raise anything else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import BadRequest
from app.domain.history import parse_point, parse_time
from app.domain.input_checks import (
    MAX_DEPTH,
    check_json_body,
    check_text,
    in_utc,
    json_depth,
    parse_int,
    plain_data_problem,
    plain_json,
)
from app.domain.scopes import RESERVED_SLUGS, is_slug

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.mark.parametrize("text", ["²", "١", "12³", "-1", "+1", "1.0", "", " ", "1e3", "0x10", "１２"])
def test_parse_int_takes_ascii_digits_only(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_int(text, "cursor")
    assert caught.value.errors[0].key == "cursor"


def test_parse_int_range_is_named() -> None:
    assert parse_int(" 42 ", "revision") == 42
    with pytest.raises(BadRequest, match="between 0 and 9223372036854775807"):
        parse_int("99999999999999999999999", "revision")
    with pytest.raises(BadRequest, match="5000-digit number is out of range"):
        parse_int("9" * 5000, "revision")  # past Python's 4300-digit int() limit: still a 400


def test_json_depth_counts_brackets_outside_strings() -> None:
    assert json_depth('{"a": "[[[[", "b": [[1]]}') == 3
    assert json_depth('"\\"[["') == 0
    assert json_depth("[" * 5000 + "]" * 5000) == 5000  # no recursion


@pytest.mark.parametrize(("body", "code"), [
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "too_deep"),
    (b'{"a": "\xff"}', "invalid_utf8"),
    (b'{"a": 1, "a": 2}', "duplicate_key"),
    (b'{"a": 1e400}', "number_out_of_range"),
    (b'{"a": -1e400}', "number_out_of_range"),
    (b'{"a": NaN}', "invalid_number"),
    (b'{"a": Infinity}', "invalid_number"),
    (b'{"a": "x\\u0000y"}', "nul_character"),
    (b'{"a\\u0000": 1}', "nul_character"),
    (b'{"a": [{"b": "\\u0000"}]}', "nul_character"),
    (b'{"a": ' + b"1" * 5000 + b"}", "invalid_json"),
    (b"{bad", "invalid_json"),
])
def test_json_bodies_refused_with_a_code(body: bytes, code: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_json_body(body)
    assert caught.value.errors[0].code == code


def test_nul_is_named_by_its_path() -> None:
    with pytest.raises(BadRequest) as caught:
        check_json_body(b'{"nextcloud": {"rooms": ["ok", "b\\u0000d"]}}')
    assert caught.value.errors[0].key == "body.nextcloud.rooms[1]"


def test_a_body_at_the_limit_is_accepted() -> None:
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert check_json_body(f'{{"a": {deep}}}'.encode()) == json.loads(f'{{"a": {deep}}}')


def test_check_text_refuses_nul() -> None:
    assert check_text("fine", "reason") == "fine"
    with pytest.raises(BadRequest, match="reason"):
        check_text("a\x00b", "reason")


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_times_outside_years_1_to_9999_in_utc_are_400(text: str) -> None:
    with pytest.raises(BadRequest, match="representable range"):
        parse_time(text, "since")


def test_times_without_seconds_are_accepted() -> None:
    assert parse_time("2026-12-01T00:00Z", "apply_at") == datetime(2026, 12, 1, tzinfo=UTC)
    assert in_utc(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "t") == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["100000000d", "999999999999w", "١d", "²"])
def test_points_that_cannot_exist_are_400(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_point(text, NOW, "from")


def test_relative_points_still_work() -> None:
    assert parse_point("2d", NOW).time == NOW - timedelta(days=2)
    assert parse_point("12", NOW).revision == 12


@pytest.mark.parametrize(("value", "fragment"), [
    ({"a": [1, {"b": "x\x00"}]}, "a[1].b"),
    ({"k\x00": 1}, "NUL"),
    ({"a": float("inf")}, "not finite"),
    ({"a": 10**30}, "64 bits"),
    ({"a": {1, 2}}, "not a JSON value"),
])
def test_plain_data_problems_are_named(value: object, fragment: str) -> None:
    problem = plain_data_problem(value)
    assert problem is not None and fragment in problem


def test_plain_data_depth_without_recursion() -> None:
    value: object = 1
    for _ in range(5000):
        value = [value]
    assert "nested more than" in (plain_data_problem(value) or "")
    assert plain_data_problem({"a": [1, "x", None, True, 1.5, {"b": []}]}) is None


@pytest.mark.parametrize("slug", ["mira\n", "mira\n\n", "Mira", "-mira", "", "a" * 65, "mi ra",
                                  *sorted(RESERVED_SLUGS)])
def test_slugs_match_in_full_and_reserved_words_are_refused(slug: str) -> None:
    assert not is_slug(slug)


def test_ordinary_slugs_pass() -> None:
    assert all(is_slug(s) for s in ["mira", "a", "bot-2", "x_y", "a" * 64, "globalbot"])


def test_command_line_json_nested_past_the_limit_is_refused_not_a_recursion_error() -> None:
    from app.domain.errors import ValidationFailed
    from app.domain.registry import REGISTRY
    from app.domain.values import parse_text

    with pytest.raises(ValidationFailed, match="nested more than"):
        parse_text(REGISTRY["nextcloud"], '{"a": ' + "[" * 5000 + "]" * 5000 + "}")
    assert parse_text(REGISTRY["nextcloud"], '{"a": [[1]]}') == {"a": [[1]]}


# plain_json: the chat fast path's check (app/api/fast_chat.py). It may decline what the
# full check accepts (the full path then answers), never accept what it refuses.

def _render(node: Any, spaced: bool) -> str:
    if isinstance(node, tuple):  # an object, as pairs: a key may come twice
        colon = " : " if spaced else ":"
        return "{" + ",".join(json.dumps(k) + colon + _render(v, spaced) for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_render(v, spaced) for v in node) + "]"
    return node if isinstance(node, str) and node in _RAW else json.dumps(node)


_RAW = ("1e400", "-1e999", "NaN", "Infinity", "9" * 5000, "01", "1.")
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(alphabet=st.sampled_from('ab":\\\x00é \n'), max_size=6), st.sampled_from(_RAW))
_DOCUMENTS = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.lists(st.tuples(st.sampled_from(["a", "b", 'c":', "d\x00"]), inner), max_size=3).map(tuple)), max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_DOCUMENTS, spaced=st.booleans(), nest=st.integers(min_value=0, max_value=34))
def test_plain_json_accepts_nothing_the_full_check_refuses(document: Any, spaced: bool, nest: int) -> None:
    raw = ("[" * nest + _render(document, spaced) + "]" * nest).encode()
    plain = plain_json(raw)
    try:
        full = check_json_body(raw)
    except BadRequest:
        assert plain is None, raw
        return
    if plain is not None:
        assert plain == full


def test_plain_json_decodes_a_plain_chat_request_and_declines_each_refusal() -> None:
    chat = {"model": "mira", "messages": [{"role": "user", "content": 'say "a" to b: {[', "timestamp": 1.5}]}
    assert plain_json(json.dumps(chat).encode()) == chat
    quoted = json.dumps({"content": 'JSON such as {"a": 1}'}).encode()  # a quote then a colon inside a text:
    assert plain_json(quoted) is None and check_json_body(quoted)  # declined, harmlessly (the full path takes it)
    for raw in (b'{"a": 1, "a": 2}', b'{"a" : 1, "a":2}', b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
                b'{"a": "\\u0000"}', b'{"a": 1e400}', b'{"a": NaN}', b'{"a": "\xff"}', b"{"):
        assert plain_json(raw) is None, raw
        with pytest.raises(BadRequest):
            check_json_body(raw)
