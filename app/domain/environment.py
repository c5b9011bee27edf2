"""The environment layer: `LLM_BAWT_<KEY>` and the registry's legacy variable names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.errors import BotSettingsError, ValidationFailed
from app.domain.registry import REGISTRY, Category, parse_text, validate_value


class InvalidEnvironment(BotSettingsError):
    title = "Invalid environment variable"


def env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Values of tunable keys found in the environment, and warnings.

    The canonical variable wins over legacy ones. A value that does not parse or
    validate is an error naming the variable, never a silent default.
    """
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for defn in REGISTRY.values():
        if defn.category is not Category.TUNABLE:
            continue
        present = [name for name in defn.env if name in environ]
        if not present:
            continue
        name = present[0]
        if name != defn.env[0]:
            warnings.append(f"{name} is a legacy variable; use {defn.env[0]}")
        elif len(present) > 1:
            warnings.append(f"{', '.join(present[1:])} ignored: {name} is set")
        try:
            values[defn.key] = validate_value(defn, parse_text(defn, environ[name]))
        except ValidationFailed as exc:
            raise InvalidEnvironment(f"environment variable {name}={environ[name]!r}: {exc.errors[0].message}") \
                from None
    return values, warnings
