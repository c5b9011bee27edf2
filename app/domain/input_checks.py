"""The input boundary's rules, pure: what a number, a text, a time or a JSON body
must be before anything else looks at it. No I/O; the HTTP edge (app/http/boundary.py)
and the parsers of parameters call these, so every refusal is a 400 naming the field
and the limit instead of a crash deep inside (RecursionError, UnicodeDecodeError,
OverflowError, a NUL that PostgreSQL refuses).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from app.domain.errors import BadRequest, FieldError

MAX_DEPTH = 32  # of a JSON body: objects and arrays nested deeper are refused
MAX_INT = 2**63 - 1  # revisions, versions, cursors: PostgreSQL bigint
_DIGITS = re.compile(r"[0-9]{1,100}")  # ASCII only: str.isdigit() also takes '²' and '١'
# A JSON string, written as an "unrolled loop": the same matches as "(?:[^"\\]|\\.)*",
# seven times faster on a chat request (runs of plain characters are taken at once).
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
# Where a key may end: a quote, JSON whitespace, a colon. Every key of a valid document
# matches, and so may a value's escaped quote (\" :) — never fewer matches than keys.
_KEY_ENDS = re.compile(rb'"[ \t\n\r]*:')


def _bad(name: str, code: str, message: str) -> BadRequest:
    return BadRequest(f"{name}: {message}", [FieldError(key=name, code=code, message=message)])


def parse_int(text: str, name: str, *, lo: int = 0, hi: int = MAX_INT) -> int:
    """An integer written in ASCII digits, within ``lo``…``hi``; anything else is a 400."""
    stripped = text.strip(" \t")
    if not (stripped.isascii() and stripped.isdigit()):
        raise _bad(name, "invalid_integer", f"{text[:40]!r} is not a whole number written in digits 0-9")
    value = int(stripped) if _DIGITS.fullmatch(stripped) else None  # int() of 4300+ digits would raise
    if value is None or not lo <= value <= hi:
        shown = stripped if len(stripped) <= 40 else f"a {len(stripped)}-digit number"
        raise _bad(name, "out_of_range", f"{shown} is out of range: it must be between {lo} and {hi}")
    return value


def check_text(text: str, name: str) -> str:
    """Text that PostgreSQL can store: no NUL character."""
    if "\x00" in text:
        raise _bad(name, "nul_character", "contains a NUL character (\\u0000), which cannot be stored")
    return text


def in_utc(moment: datetime, name: str) -> datetime:
    """A time that exists once converted to UTC (years 1-9999); zone-less means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _bad(name, "time_out_of_range",
                   f"{moment.isoformat()} is outside the representable range (years 1-9999 in UTC)") from None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest, counted without recursion (strings skipped)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _bad("body", "duplicate_key", f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _bad("body", "number_out_of_range", f"the number {text} does not fit a 64-bit float")
    return value


def _no_constant(text: str) -> Any:
    raise _bad("body", "invalid_number", f"{text} is not a JSON number")


def find_nul(value: Any, path: str = "body") -> str | None:
    """The path of the first text (key or value) holding a NUL, if any. Depth is
    already bounded when this runs, so recursion is safe."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    found: str | None
    if isinstance(value, dict):
        for key, item in value.items():
            where = path + "." + str(key).replace("\x00", "\\u0000")
            if "\x00" in key:
                return where
            if (found := find_nul(item, where)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := find_nul(item, f"{path}[{index}]")) is not None:
                return found
    return None


def check_json_body(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Check a JSON request body before the framework decodes it; returns the parsed
    document. Refused, each with a 400 naming what is wrong: bytes that are not UTF-8,
    nesting deeper than ``max_depth``, a key twice in one object, a number beyond a
    64-bit float (``1e400``) or NaN/Infinity, NUL in any text, malformed JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad("body", "invalid_utf8", f"the body is not UTF-8 (byte {exc.start})") from None
    if (depth := json_depth(text)) > max_depth:
        raise _bad("body", "too_deep", f"JSON nested {depth} levels deep; the limit is {max_depth}")
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicates, parse_float=_finite,
                              parse_constant=_no_constant)
    except BadRequest:
        raise
    except (ValueError, RecursionError) as exc:  # malformed JSON, or an integer of over 4300 digits
        raise _bad("body", "invalid_json", f"the body is malformed JSON ({exc})") from None
    # JSON can carry a NUL only as the escape \u0000 (raw control characters are malformed),
    # so a body without that text needs no walk.
    if "\\u0000" in text and (where := find_nul(document)) is not None:
        raise _bad(where, "nul_character", "contains a NUL character (\\u0000), which cannot be stored")
    return document


def plain_json(raw: bytes, max_depth: int = MAX_DEPTH) -> Any | None:
    """The document, decoded as the chat pipeline decodes it (msgspec), when
    :func:`check_json_body` would accept it; ``None`` when it might refuse it — the
    caller then takes the path that runs the full check and names the problem.

    About a tenth of the full check's cost on a chat request: msgspec refuses what is
    malformed, not UTF-8, NaN/Infinity, a number beyond a 64-bit float or an integer
    past 4300 digits; a walk of the decoded containers bounds the depth and counts the
    keys, which must be as many as the places in the text where a key can end (a
    duplicate key leaves fewer keys than places; so, harmlessly, does an escaped quote
    before a colon in a text). A body with the escape of NUL is not looked at."""
    if b"\\u0000" in raw:
        return None
    try:
        document = msgspec.json.decode(raw)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # DecodeError, ValidationError, UnicodeDecodeError
        return None
    keys, depth, level = 0, 1, [document]
    while level:  # one level of containers at a time (msgspec makes plain dicts and lists)
        if depth > max_depth:
            return None
        below = []
        for node in level:
            if type(node) is dict:
                keys += len(node)
                node = node.values()
            elif type(node) is not list:
                continue
            below += [child for child in node if type(child) is dict or type(child) is list]
        level, depth = below, depth + 1
    if keys != len(_KEY_ENDS.findall(raw)):
        return None
    return document


def plain_data_problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """What keeps a stored value from being stored, exported and imported again, if
    anything: nesting past ``max_depth``, NUL in a text or key, a non-finite float, an
    integer beyond 64 bits, a type JSON does not have. Walked without recursion, so a
    value nested thousands deep is refused rather than crashing the walk."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        where = f" at {path}" if path else ""
        if isinstance(item, dict | list):
            if depth >= max_depth:
                return f"nested more than {max_depth} levels deep; the limit is {max_depth}"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"object keys must be text{where}"
                    if "\x00" in key:
                        return f"a key{where} contains a NUL character (\\u0000)"
                    stack.append((child, f"{path}.{key}" if path else key, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            if "\x00" in item:
                return f"text{where} contains a NUL character (\\u0000), which cannot be stored"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -(2**63) <= item < 2**63:
                return f"the integer{where} does not fit in 64 bits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"the number{where} is not finite"
        else:
            return f"{type(item).__name__}{where} is not a JSON value"
    return None
