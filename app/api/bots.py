"""/v1/bots: the known bots, and a bot's effective settings with provenance."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from app.domain.errors import FieldError, ValidationFailed
from app.domain.history import point_of
from app.domain.registry import REGISTRY, canonical_key, parse_text
from app.service import BotSummary, SettingsService

Service = NamedDependency[SettingsService]
OVERRIDE_PREFIX = "override."


class BotList(msgspec.Struct, kw_only=True):
    bots: list[BotSummary]
    default_bot: str | None
    revision: int


class EffectiveValue(msgspec.Struct, kw_only=True):
    value: Any
    source: str  # request | bot | global | yaml | env | default
    revision: int


class Effective(msgspec.Struct, kw_only=True):
    bot: str
    revision: int
    stale: bool
    settings: dict[str, EffectiveValue]
    warnings: list[str]


def overrides_from_query(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], list[str]]:
    """`?override.temperature=0.3`: query text parsed with the key's type."""
    overrides: dict[str, Any] = {}
    warnings: list[str] = []
    for name, text in request.query_params.items():
        if not name.startswith(OVERRIDE_PREFIX):
            continue
        key, warning = canonical_key(name[len(OVERRIDE_PREFIX):])
        if warning:
            warnings.append(warning)
        defn = REGISTRY.get(key)
        overrides[key] = parse_text(defn, text) if defn else text
    return overrides, warnings


def selected_keys(keys: str | None, available: Any) -> list[str] | None:
    if not keys:
        return None
    chosen = [canonical_key(k.strip())[0] for k in keys.split(",") if k.strip()]
    unknown = [k for k in chosen if k not in available]
    if unknown:
        raise ValidationFailed([FieldError(key=k, code="unknown_key", message=f"'{k}' is not a setting a bot has")
                                for k in unknown])
    return chosen


@get("/v1/bots", summary="Known bots: bots.yaml ∪ bots with a database scope", tags=["bots"])
async def list_bots(service: Service) -> BotList:
    return BotList(bots=service.bots(), default_bot=service.resolver.bots_config.default_bot,
                   revision=service.resolver.revision)


@get("/v1/bots/{slug:str}/effective", tags=["bots"],
     summary="Every key of a bot: value, source and revision; at a past point with ?as_of= or ?revision=")
async def effective(request: Request[Any, Any, Any], service: Service, slug: FromPath[str],
                    keys: FromQuery[str | None] = None, as_of: FromQuery[str | None] = None,
                    revision: FromQuery[str | None] = None) -> Response[Effective]:
    overrides, warnings = overrides_from_query(request)
    point = point_of(revision, as_of)
    # In the past, only the database layers are versioned: bots.yaml and env are today's.
    snap = service.snapshot(slug, overrides) if point is None else await service.snapshot_at(slug, point, overrides)
    chosen = selected_keys(keys, snap.values)
    values = snap.values if chosen is None else {k: snap.values[k] for k in chosen}
    body = Effective(bot=slug, revision=snap.revision, stale=snap.stale, warnings=warnings,
                     settings={k: EffectiveValue(value=r.value, source=r.source.value, revision=snap.revision)
                               for k, r in values.items()})
    headers = {"X-Settings-Revision": str(snap.revision)}
    if snap.stale:
        headers["X-Settings-Stale"] = "true"
    return Response(body, headers=headers)


HANDLERS = [list_bots, effective]
