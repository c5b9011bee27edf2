"""Whether one entry from the platform's files (bots.yaml, the environment) can become a
stored setting of a scope, and if not, why. One rule for every reader: bots.yaml at
start-up (warnings; a wrong type is fatal there), and imports (every reason reported).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from app.domain.errors import ValidationFailed
from app.domain.registry import REGISTRY, Category, canonical_key
from app.domain.scopes import ScopeType
from app.domain.values import parse_text, validate_value, written_value


class Reason(StrEnum):
    UNKNOWN = "unknown"  # not a key of the registry
    INFRA = "infra"  # infrastructure: stays in the environment
    SECRET = "secret"  # a credential: stays in the environment
    WRONG_TYPE = "wrong_type"  # does not parse or validate (type or bounds)
    WRONG_SCOPE = "wrong_scope"  # e.g. a global-only key in a bot's settings
    MISPLACED = "misplaced"  # a profile field under settings, or a setting on the bot itself
    SUPERSEDED = "superseded"  # a legacy name given next to its canonical one


class Ignored(msgspec.Struct, frozen=True, kw_only=True):
    scope: str  # where it would have gone ("global", "bots/mira")
    name: str  # as written: the variable, or the YAML path
    reason: Reason
    detail: str


def accept(scope_type: ScopeType, label: str, where: str, name: str, value: Any, category: Category,
           *, from_text: bool = False) -> tuple[str, Any, str | None] | Ignored:
    """One entry bound for a scope of ``scope_type`` (reported as ``label``): its
    (canonical key, normalised value, legacy warning), or why it is ignored."""
    key, legacy = canonical_key(name)
    defn = REGISTRY.get(key)
    if defn is None:
        return Ignored(scope=label, name=where, reason=Reason.UNKNOWN, detail=f"'{name}' is not a known setting")
    if defn.category in (Category.INFRA, Category.SECRET):
        reason = Reason.SECRET if defn.category is Category.SECRET else Reason.INFRA
        return Ignored(scope=label, name=where, reason=reason,
                       detail="stays in the environment, never stored")
    if defn.category is not category:
        detail = ("a profile field: put it on the bot itself, not under settings" if defn.category is Category.PROFILE
                  else "a setting: put it under the bot's settings block")
        return Ignored(scope=label, name=where, reason=Reason.MISPLACED, detail=detail)
    if scope_type not in defn.scopes:
        allowed = " and ".join(sorted(s.value for s in defn.scopes))
        return Ignored(scope=label, name=where, reason=Reason.WRONG_SCOPE,
                       detail=f"'{key}' may only be stored in the {allowed} scope")
    try:
        parsed = parse_text(defn, value) if from_text and isinstance(value, str) else value
        return key, validate_value(defn, written_value(name, parsed)), legacy
    except ValidationFailed as exc:
        return Ignored(scope=label, name=where, reason=Reason.WRONG_TYPE, detail=exc.errors[0].message)
