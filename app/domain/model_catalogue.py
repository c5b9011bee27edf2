"""The model catalogue: what each model alias can honour — its context window, its
largest reply, and the sampling ranges it accepts. Pure code: no I/O.

The catalogue is one global-only JSON setting, ``models`` (declared in
app/domain/registry.py with :data:`DEFAULT_CATALOGUE` as its default), so it is
written, logged, rolled back and exported like any setting. Its shape is checked on
every write by :func:`check_catalogue` (called from app/domain/values.py); the rules
that compare a bot's settings with its model are in app/domain/model_limits.py.

    {"<alias>": {"context_window": 32768,          # tokens, required
                 "max_output_tokens": 8192,        # tokens, required, ≤ context_window
                 "temperature": {"min": 0, "max": 2},   # optional, default 0…2
                 "top_p": {"min": 0, "max": 1}}}        # optional, default 0…1
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from app.domain.errors import FieldError, ValidationFailed
from app.domain.registry_types import GLOBAL_ONLY, Kind, SettingDef

MODELS_KEY = "models"
MAX_MODELS = 500
MAX_ALIAS_CHARS = 255
MAX_WINDOW = 10_000_000
# The ranges a model accepts when its entry does not say (the registry's own bounds).
SAMPLING_DEFAULTS: dict[str, tuple[float, float]] = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}
_FIELDS = ("context_window", "max_output_tokens", *SAMPLING_DEFAULTS)

# Pre-filled for the models the platform's bots name (bots.yaml here, and the
# platform's maintenance default). Where each figure comes from: docs/models.md.
_LOCAL_WINDOW = 32_768  # the platform's llama.cpp context size (LLAMA_CPP_N_CTX) default
DEFAULT_CATALOGUE: dict[str, Any] = {
    "grok-4-fast": {"context_window": 2_000_000, "max_output_tokens": 30_000,
                    "temperature": {"min": 0.0, "max": 2.0}, "top_p": {"min": 0.0, "max": 1.0}},
    **{alias: {"context_window": _LOCAL_WINDOW, "max_output_tokens": 8_192,
               "temperature": {"min": 0.0, "max": 2.0}, "top_p": {"min": 0.0, "max": 1.0}}
       for alias in ("qwen3-8b", "llama-3.2-3b", "dolphin-qwen-3b")},
}


# The registry's definition of the catalogue (app/domain/registry.py appends it).
DEFINITION = SettingDef(key=MODELS_KEY, kind=Kind.JSON, default=DEFAULT_CATALOGUE, scopes=GLOBAL_ONLY,
                        applies_to=(), area="models", label="Model catalogue",
                        description="model alias → context window, largest reply, accepted sampling ranges "
                                    "(docs/models.md)")


class SamplingRange(msgspec.Struct, frozen=True):
    min: float
    max: float

    def holds(self, value: float) -> bool:
        return self.min <= value <= self.max


class ModelSpec(msgspec.Struct, frozen=True, kw_only=True):
    alias: str
    context_window: int
    max_output_tokens: int
    ranges: dict[str, SamplingRange]


def _bad(path: str, message: str) -> FieldError:
    return FieldError(key=MODELS_KEY, code="invalid_catalogue", message=f"'{MODELS_KEY}.{path}': {message}")


def _int(entry: dict[str, Any], alias: str, field: str, lo: int, hi: int, errors: list[FieldError]) -> int | None:
    value = entry.get(field)
    if value is None:
        errors.append(_bad(f"{alias}.{field}", f"required, an integer {lo}…{hi}"))
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        errors.append(_bad(f"{alias}.{field}", f"expected an integer {lo}…{hi}, got {value!r}"))
        return None
    return value


def _range(entry: dict[str, Any], alias: str, field: str, errors: list[FieldError]) -> SamplingRange | None:
    lo, hi = SAMPLING_DEFAULTS[field]
    raw = entry.get(field)
    if raw is None:
        return SamplingRange(lo, hi)
    if not isinstance(raw, dict) or set(raw) - {"min", "max"}:
        errors.append(_bad(f"{alias}.{field}", 'expected {"min": x, "max": y}'))
        return None
    bounds = [raw.get("min", lo), raw.get("max", hi)]
    if any(isinstance(b, bool) or not isinstance(b, int | float) or not math.isfinite(b) for b in bounds):
        errors.append(_bad(f"{alias}.{field}", f"min and max must be numbers, got {raw!r}"))
        return None
    low, high = float(bounds[0]), float(bounds[1])
    if not lo <= low <= high <= hi:
        errors.append(_bad(f"{alias}.{field}", f"needs {lo:g} ≤ min ≤ max ≤ {hi:g}, got {low:g}…{high:g}"))
        return None
    return SamplingRange(low, high)


def parse_catalogue(value: Any) -> dict[str, ModelSpec]:
    """The catalogue as specs by alias; ValidationFailed naming every bad entry."""
    if not isinstance(value, dict):
        raise ValidationFailed([_bad("", "expected a JSON object of model aliases")])
    errors: list[FieldError] = []
    if len(value) > MAX_MODELS:
        errors.append(_bad("", f"{len(value)} models; the limit is {MAX_MODELS}"))
    specs: dict[str, ModelSpec] = {}
    for alias, entry in value.items():
        if not alias or len(alias) > MAX_ALIAS_CHARS or alias != alias.strip():
            errors.append(_bad(alias, f"an alias is 1…{MAX_ALIAS_CHARS} characters without surrounding spaces"))
            continue
        if not isinstance(entry, dict):
            errors.append(_bad(alias, "expected an object with context_window and max_output_tokens"))
            continue
        if unknown := sorted(set(entry) - set(_FIELDS)):
            errors.append(_bad(alias, f"unknown field(s) {', '.join(unknown)} (known: {', '.join(_FIELDS)})"))
            continue
        window = _int(entry, alias, "context_window", 512, MAX_WINDOW, errors)
        output = _int(entry, alias, "max_output_tokens", 1, MAX_WINDOW, errors)
        ranges = {f: _range(entry, alias, f, errors) for f in SAMPLING_DEFAULTS}
        if window is not None and output is not None and output > window:
            errors.append(_bad(f"{alias}.max_output_tokens", f"{output} is larger than the context window {window}"))
            continue
        if window is None or output is None or any(r is None for r in ranges.values()):
            continue
        specs[alias] = ModelSpec(alias=alias, context_window=window, max_output_tokens=output,
                                 ranges={f: r for f, r in ranges.items() if r is not None})
    if errors:
        raise ValidationFailed(errors)
    return specs


def check_catalogue(value: Any) -> Any:
    """The write-time check of the ``models`` setting (its value is kept as written)."""
    parse_catalogue(value)
    return value
