"""/v1/snapshot: the bootstrap of a follower (botsettings-client) — the effective
settings of the chosen bots (or every bot the token may read) at one revision, each
value with its source and the revision that wrote it. Follow /v1/watch?since=<revision>
after it and nothing is missed or applied twice."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromQuery

from app.api.auth import principal_of, require_read
from app.domain import scopes
from app.domain.feed import Bootstrap
from app.service import SettingsService

Service = NamedDependency[SettingsService]


@get("/v1/snapshot", summary="Effective settings of bots (?bots=a,b; default all) at one revision", tags=["watch"])
async def snapshot(request: Request[Any, Any, Any], service: Service,
                   bots: FromQuery[str | None] = None) -> Response[Bootstrap]:
    chosen = None
    if bots is not None:
        chosen = [b.strip() for b in bots.split(",") if b.strip()]
        if not chosen:
            raise HTTPException(status_code=400, detail="bots is empty: name bots like ?bots=mira,nova, "
                                                        "or leave it out for every bot")
        for slug in chosen:
            scopes.check_slug(slug)
            require_read(request, scopes.bot(slug))
    body = await service.bootstrap(chosen, principal_of(request).bots)
    return Response(body, headers={"X-Settings-Revision": str(body.revision)})


HANDLERS = [snapshot]
