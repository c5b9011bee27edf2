"""The platform's bot-profile endpoints, same paths and JSON shapes (llm-bawt's
`routes/settings.py`, `BotProfileResponse`), so its bot editor and ServiceClient
work unchanged:

    GET    /v1/bots/profiles?q=&uses_tools=&…&default_model=&limit=&offset=
    GET    /v1/bots/{slug}/profile
    PUT    /v1/bots/{slug}/profile      the platform's BotProfileUpsertRequest
    PATCH  /v1/bots/{slug}/profile      only the fields sent (its BotProfilePatchRequest)
    DELETE /v1/bots/{slug}/profile?purge=true|false

A profile is bot-scope settings (app/domain/platform_profile.py): a save is one change
in the log, so history, as-of reads and rollback cover it. Fields botsettings has no
setting for are kept, as sent, in the bot's `extra` key.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, patch, put
from litestar.params import FromPath, FromQuery, JSONBody

from app.domain import scopes
from app.domain.access import sees_bot
from app.domain.errors import FieldError, ValidationFailed
from app.http.auth import principal_of, require_read
from app.http.deps import Bots
from app.http.request import actor_of, reason_of


@get("/v1/bots/profiles", summary="Platform-compatible: every bot's profile, filtered and paged",
     tags=["bots"])
async def list_profiles(request: Request[Any, Any, Any], bots: Bots, q: FromQuery[str | None] = None,
                        uses_tools: FromQuery[bool | None] = None, uses_search: FromQuery[bool | None] = None,
                        include_in_global_search: FromQuery[bool | None] = None,
                        requires_memory: FromQuery[bool | None] = None,
                        voice_optimized: FromQuery[bool | None] = None,
                        uses_home_assistant: FromQuery[bool | None] = None,
                        default_model: FromQuery[str | None] = None, limit: FromQuery[int] = 200,
                        offset: FromQuery[int] = 0) -> dict[str, Any]:
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValidationFailed([FieldError(key="limit" if offset >= 0 else "offset", code="out_of_range",
                                           message="'limit' must be between 1 and 1000 and 'offset' 0 or more")])
    flags = {"uses_tools": uses_tools, "uses_search": uses_search, "include_in_global_search": include_in_global_search,
             "requires_memory": requires_memory, "voice_optimized": voice_optimized,
             "uses_home_assistant": uses_home_assistant}
    text = q.strip().lower() if q else None
    model = default_model.strip() if default_model else None
    page, total = await bots.profiles.list(q=text, flags=flags, default_model=model, limit=limit, offset=offset)
    principal = principal_of(request)  # a token limited to some bots sees only those
    visible = [p for p in page if sees_bot(principal, p["slug"])]
    return {"profiles": visible, "total_count": total if len(visible) == len(page) else len(visible),
            "filters": {"q": text, **flags, "default_model": model, "limit": limit, "offset": offset}}


@get("/v1/bots/{slug:str}/profile", summary="Platform-compatible: a bot's profile and effective settings",
     tags=["bots"])
async def get_profile(request: Request[Any, Any, Any], bots: Bots, slug: FromPath[str]) -> dict[str, Any]:
    require_read(request, scopes.bot(slug))
    return await bots.profiles.get(slug)


@put("/v1/bots/{slug:str}/profile", tags=["bots"],
     summary="Platform-compatible: save a bot's profile (one change; unknown fields kept in 'extra')")
async def put_profile(request: Request[Any, Any, Any], bots: Bots, slug: FromPath[str],
                      data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return await bots.profiles.put(slug, data, actor=actor_of(request), reason=reason_of(request))


@patch("/v1/bots/{slug:str}/profile", tags=["bots"],
       summary="Platform-compatible: change only the profile fields sent (one change; 404 for an unknown bot)")
async def patch_profile(request: Request[Any, Any, Any], bots: Bots, slug: FromPath[str],
                        data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return await bots.profiles.patch(slug, data, actor=actor_of(request), reason=reason_of(request))


@delete("/v1/bots/{slug:str}/profile", status_code=200, tags=["bots"],
        summary="Platform-compatible: delete a bot's profile keys (?purge=true: its settings too); history stays")
async def delete_profile(request: Request[Any, Any, Any], bots: Bots, slug: FromPath[str],
                         purge: FromQuery[bool] = False) -> dict[str, Any]:
    return await bots.profiles.delete(slug, purge=purge, actor=actor_of(request), reason=reason_of(request))


HANDLERS = [list_profiles, get_profile, put_profile, patch_profile, delete_profile]
