"""The environment layer: `LLM_BAWT_<KEY>` and the registry's legacy variable names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.acceptance import Reason
from app.domain.errors import BotSettingsError
from app.domain.intake import from_env
from app.domain.scopes import GLOBAL


class InvalidEnvironment(BotSettingsError):
    title = "Invalid environment variable"


def env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Values of tunable keys found in the environment, and warnings.

    The same reading as `migrate --from-env` (app/domain/intake.py), but strict: a value
    that does not parse or validate is an error naming the variable, never a silent
    default. Unknown variables, infrastructure and secrets are not this layer's business.
    """
    incoming = from_env(environ)
    warnings = list(incoming.warnings)
    for item in incoming.ignored:
        if item.reason is Reason.WRONG_TYPE:
            raise InvalidEnvironment(f"environment variable {item.name}={environ[item.name]!r}: {item.detail}")
        if item.reason is Reason.SUPERSEDED:
            warnings.append(f"{item.name} ignored: {item.detail}")
    return incoming.values[GLOBAL], warnings
