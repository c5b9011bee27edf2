"""Validating values against their key's definition (app/domain/registry.py).

Pure code: no I/O. Every write path, the environment layer, bots.yaml and request
overrides validate through :func:`validate_value`, so a rule lives in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.input_checks import MAX_DEPTH, json_depth, plain_data_problem
from app.domain.model_catalogue import MODELS_KEY, check_catalogue
from app.domain.registry import (
    MAX_VALUE_BYTES,
    UNSET,
    Kind,
    SettingDef,
    canonical_key,
    lookup_writable,
    refusal,
    upcast,
)
from app.domain.registry_defaults import DROPPED_SEED_KEYS
from app.domain.scopes import Scope


def validate_value(defn: SettingDef, value: Any) -> Any:
    """Check ``value`` against the key's type and bounds; return it normalised.

    Raises ValidationFailed naming the key. Normalising (int → float for float keys)
    makes equal values compare equal, which the no-op rule for writes relies on.
    """
    def bad(message: str) -> ValidationFailed:
        return refusal(defn.key, "invalid_value", f"'{defn.key}': {message}")

    if value is None:
        if defn.nullable:
            return None
        raise bad(f"null is not allowed (expected {defn.describe_type()}); delete the key to inherit")
    kind = defn.kind
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise bad(f"expected true or false, got {_show(value)}")
    elif kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and math.isfinite(value):
                value = int(value)
            else:
                raise bad(f"expected an integer, got {_show(value)}")
    elif kind is Kind.FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f"expected a number, got {_show(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise bad("expected a finite number")
    elif kind in (Kind.STR, Kind.ENUM):
        if not isinstance(value, str):
            raise bad(f"expected a string, got {_show(value)}")
        if kind is Kind.ENUM and value not in defn.choices:
            raise bad(f"{value!r} is not one of {', '.join(defn.choices)}")
        if defn.min_length is not None and len(value) < defn.min_length:
            raise bad(f"must be at least {defn.min_length} character(s) long")
        if defn.max_length is not None and len(value) > defn.max_length:
            raise bad(f"is {len(value)} characters long; the limit is {defn.max_length}")
    elif kind is Kind.STR_LIST and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise bad(f"expected a list of strings, got {_show(value)}")
    elif kind is Kind.JSON and not isinstance(value, dict):
        raise bad(f"expected a JSON object, got {_show(value)}")
    if kind in (Kind.INT, Kind.FLOAT) and _out_of_bounds(defn, value):
        raise bad(f"{value} is out of bounds ({defn.describe_type()})")
    if kind in (Kind.STR_LIST, Kind.JSON, Kind.STR):
        if (problem := plain_data_problem(value)) is not None:  # storable, exportable, re-importable
            raise bad(problem)
        size = len(msgspec.json.encode(value))
        if size > MAX_VALUE_BYTES:
            raise bad(f"value is {size} bytes encoded; the limit is {MAX_VALUE_BYTES}")
    if defn.key == MODELS_KEY:  # a JSON value with a schema of its own
        check_catalogue(value)
    return value


def _out_of_bounds(defn: SettingDef, value: float) -> bool:
    if defn.minimum is not None and (value < defn.minimum or (defn.exclusive_minimum and value == defn.minimum)):
        return True
    return defn.maximum is not None and value > defn.maximum


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "object"}.get(type(value), type(value).__name__)
    return f"{kind} {text[:60]}{'…' if len(text) > 60 else ''}"


def parse_text(defn: SettingDef, text: str) -> Any:
    """Turn text from the environment or a command line into a value of the key's type.

    JSON first (so `0.5`, `true`, `null`, `["a"]` work), then the plain string for
    string keys. Bools also accept yes/no/on/off/1/0. The result is not yet validated.
    """
    stripped = text.strip()
    if defn.kind is Kind.BOOL:
        lowered = stripped.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        return text
    if defn.kind in (Kind.STR, Kind.ENUM):
        if defn.nullable and stripped == "null":
            return None
        if stripped.startswith('"'):
            try:
                decoded = json.loads(stripped)
            except ValueError:
                return text
            return decoded if isinstance(decoded, str) else text
        return text
    if json_depth(stripped) > MAX_DEPTH:  # json.loads would recurse until RecursionError
        raise refusal(defn.key, "too_deep", f"'{defn.key}': nested more than {MAX_DEPTH} levels deep; "
                                          f"the limit is {MAX_DEPTH}")
    try:
        return json.loads(stripped)
    except ValueError:
        return text


def validate_items(items: Iterable[tuple[str, Any]], scope: Scope) -> tuple[dict[str, Any], list[str]]:
    """Validate several key/value pairs for one scope, collecting every error.

    Returns (normalised values by canonical key, warnings). A value of ``None`` for a
    non-nullable key is not accepted here: deletes are expressed separately. A value
    with no counterpart under its current name (``max_context_tokens: 0``) and a
    dropped seed-era key are left out, each with a warning: the scope then holds no
    value for them, which is what they mean.
    """
    values: dict[str, Any] = {}
    seen: set[str] = set()
    errors: list[FieldError] = []
    warnings: list[str] = []
    for name, value in items:
        if name in DROPPED_SEED_KEYS:
            warnings.append(dropped_warning(name, scope))
            continue
        key, warning = canonical_key(name)
        if warning:
            warnings.append(warning)
        if key in seen:
            errors.append(FieldError(key=key, code="duplicate_key", scope=str(scope),
                                     message=f"'{key}' is given more than once"))
            continue
        seen.add(key)
        try:
            new = written_value(name, value, refuse_unset=False)
            if new is UNSET:
                warnings.append(unset_warning(name, value, scope))
                continue
            values[key] = validate_value(lookup_writable(key, scope), new)
        except ValidationFailed as exc:
            errors.extend(FieldError(key=e.key, code=e.code, message=e.message, scope=str(scope))
                          for e in exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values, warnings


def written_value(name: str, value: Any, *, refuse_unset: bool = True) -> Any:
    """A value written under ``name``: under a legacy name, transformed as the registry
    says. A value with no counterpart under the new name is ``UNSET`` (the write is a
    delete of the new name, as such old events read), or with ``refuse_unset`` a 422."""
    key, new = upcast(name, value)
    if new is UNSET and refuse_unset:
        raise refusal(key, "no_counterpart", (
            f"'{name}' = {_show(value)} has no counterpart in '{key}' (it was renamed); "
            f"delete '{key}' to inherit, or give it a value"))
    return new


def unset_warning(name: str, value: Any, scope: Scope) -> str:
    key = canonical_key(name)[0]
    return (f"'{name}' = {json.dumps(value)} has no counterpart in '{key}' (it was renamed); "
            f"read as unsetting '{key}' in {scope}, which then inherits")


def is_dropped(name: str) -> bool:
    """A seed-era key whose concept the platform dropped: written, it is ignored."""
    return name in DROPPED_SEED_KEYS


def dropped_warning(name: str, scope: Scope) -> str:
    return f"'{name}' (in {scope}) is no longer a setting: {DROPPED_SEED_KEYS[name]}; ignored, nothing stored"
