"""/v1/snapshot: the bootstrap of a follower (botsettings-client) — the effective
settings of the chosen bots (or every bot the token may read) at one revision, each
value with its source and the revision that wrote it. Follow /v1/watch?since=<revision>
after it and nothing is missed or applied twice."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.exceptions import HTTPException
from litestar.params import QueryParameter

from app.domain import scopes
from app.domain.feed import Bootstrap
from app.http.auth import principal_of, require_read
from app.http.deps import Service


@get("/v1/snapshot", summary="Effective settings of bots (?bots=a,b; default all) at one revision", tags=["watch"])
async def snapshot(request: Request[Any, Any, Any], service: Service,
                   bot_list: Annotated[str | None, QueryParameter(name="bots")] = None) -> Response[Bootstrap]:
    # (not a parameter named `bots`: that name is the bots service's dependency)
    chosen = None
    if bot_list is not None:
        chosen = [b.strip() for b in bot_list.split(",") if b.strip()]
        if not chosen:
            raise HTTPException(status_code=400, detail="bots is empty: name bots like ?bots=mira,nova, "
                                                        "or leave it out for every bot")
        for slug in chosen:
            scopes.check_slug(slug)
            require_read(request, scopes.bot(slug))
    body = await service.bootstrap(chosen, principal_of(request).bots)
    return Response(body, headers={"X-Settings-Revision": str(body.revision)})


HANDLERS = [snapshot]
