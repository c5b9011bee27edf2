"""/v1/bots: the known bots, a bot's profile and effective settings with provenance;
creating a bot and clearing its database scope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.schemas import ChangeResponse, change_response
from app.domain import scopes
from app.domain.access import Action, sees_bot
from app.domain.errors import FieldError, ValidationFailed
from app.domain.history import point_of
from app.domain.records import BotSummary
from app.domain.registry import REGISTRY, canonical_key
from app.domain.resolution import Resolved, Snapshot
from app.domain.values import parse_text
from app.http.auth import principal_of, require
from app.http.deps import Bots, History, Service
from app.http.request import actor_of, reason_of
from app.services.bots import BotProfile

OVERRIDE_PREFIX = "override."


class BotList(msgspec.Struct, kw_only=True):
    bots: list[BotSummary]
    default_bot: str | None
    revision: int
    # The platform's shape of the same list (its BotsResponse), which its ServiceClient's
    # list_bots reads: each bot's profile with its settings.
    object: str = "list"
    data: list[dict[str, Any]] = []


class EffectiveValue(msgspec.Struct, kw_only=True):
    value: Any
    source: str  # request | bot | global | yaml | env | default
    revision: int


class Effective(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    revision: int
    stale: bool
    settings: dict[str, EffectiveValue]
    warnings: list[str]


def _effective(slug: str, snap: Snapshot, values: Mapping[str, Resolved], warnings: list[str]) -> Effective:
    return Effective(bot=slug, revision=snap.revision, stale=snap.stale, warnings=warnings,
                     settings={k: EffectiveValue(value=r.value, source=r.source.value, revision=snap.revision)
                               for k, r in values.items()})


# The plain whole-bot answer, the hottest read, is built once per snapshot: the
# resolver hands out the same immutable snapshot object until a change touches the
# bot, so an identity check is enough to know the cached answer is current (and the
# cache holding the snapshot keeps its identity from being reused).
_WHOLE_BOT: dict[str, tuple[Snapshot, Effective]] = {}


def _whole_bot(slug: str, snap: Snapshot) -> Effective:
    cached = _WHOLE_BOT.get(slug)
    if cached is not None and cached[0] is snap:
        return cached[1]
    body = _effective(slug, snap, snap.values, [])
    _WHOLE_BOT[slug] = (snap, body)
    return body


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
async def list_bots(request: Request[Any, Any, Any], service: Service, bots: Bots) -> BotList:
    principal = principal_of(request)  # a token limited to some bots lists only those
    default = service.default_bot
    return BotList(bots=[b for b in service.bots() if sees_bot(principal, b.slug)],
                   default_bot=default if sees_bot(principal, default) else None, revision=service.revision,
                   data=[p for p in await bots.profiles.every() if sees_bot(principal, p["slug"])])


@get("/v1/bots/{slug:str}/effective", tags=["bots"],
     summary="Every key of a bot: value, source and revision; at a past point with ?as_of= or ?revision=")
async def effective(request: Request[Any, Any, Any], service: Service, history: History, slug: FromPath[str],
                    keys: FromQuery[str | None] = None, as_of: FromQuery[str | None] = None,
                    revision: FromQuery[str | None] = None) -> Response[Effective]:
    overrides, warnings = overrides_from_query(request)
    point = point_of(revision, as_of)
    # In the past, only the database layers are versioned: bots.yaml and env are today's.
    snap = service.snapshot(slug, overrides) if point is None else await history.snapshot_at(slug, point, overrides)
    if not overrides and point is None and keys is None and not warnings:
        body = _whole_bot(slug, snap)
    else:
        chosen = selected_keys(keys, snap.values)
        body = _effective(slug, snap, snap.values if chosen is None else {k: snap.values[k] for k in chosen},
                          warnings)
    headers = {"X-Settings-Revision": str(snap.revision)}
    if snap.stale:
        headers["X-Settings-Stale"] = "true"
    return Response(body, headers=headers)


@get("/v1/bots/{slug:str}", summary="A bot's resolved profile, each field with its source", tags=["bots"])
async def get_bot(bots: Bots, slug: FromPath[str]) -> BotProfile:
    return await bots.bot_profile(slug)


@post("/v1/bots", summary="Create a bot in the database: profile fields, and settings under 'settings'",
      tags=["bots"], status_code=201, opt={"scope_in_body": True})
async def post_bot(request: Request[Any, Any, Any], bots: Bots,
                   data: JSONBody[dict[str, Any]]) -> Response[ChangeResponse]:
    body = dict(data)
    slug, settings, reason = body.pop("slug", None), body.pop("settings", None) or {}, body.pop("reason", None)
    if not isinstance(slug, str):
        raise ValidationFailed([FieldError(key="slug", message="'slug' is required: the new bot's slug")])
    require(request, Action.WRITE, scopes.bot(slug))  # creating a bot is a change to its scope
    if not isinstance(settings, dict):
        raise ValidationFailed([FieldError(key="settings", message="'settings' must be an object of keys")])
    result = await bots.create_bot(slug, body, settings, actor=actor_of(request),
                                   reason=reason_of(request, reason if isinstance(reason, str) else None))
    response = change_response(result)
    response.status_code = 201
    response.headers["Location"] = f"/v1/bots/{slug}"
    return response


@delete("/v1/bots/{slug:str}", status_code=200, tags=["bots"],
        summary="Clear a bot's database scope in one change (its history stays)")
async def delete_bot_scope(request: Request[Any, Any, Any], bots: Bots,
                           slug: FromPath[str]) -> Response[ChangeResponse]:
    return change_response(await bots.delete_bot(slug, actor=actor_of(request), reason=reason_of(request)))


HANDLERS = [list_bots, effective, get_bot, post_bot, delete_bot_scope]
