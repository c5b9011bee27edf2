"""/v1/check: every bot's effective configuration against its model's limits (the
model catalogue, docs/models.md) — what `botsettings check` reports."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from app.domain.access import sees_bot
from app.domain.model_limits import BotCheck
from app.http.auth import principal_of
from app.http.deps import Service


class CheckReport(msgspec.Struct, kw_only=True):
    ok: bool  # every bot fits its model
    revision: int
    bots: list[BotCheck]


@get("/v1/check", summary="Every bot's configuration against its model: context window, output limit, "
     "sampling ranges, a model in the catalogue", tags=["bots"])
async def check(request: Request[Any, Any, Any], service: Service) -> CheckReport:
    principal = principal_of(request)  # a token limited to some bots sees only those
    bots = [c for c in service.check_models() if sees_bot(principal, c.bot)]
    return CheckReport(ok=all(c.ok for c in bots), revision=service.revision, bots=bots)


HANDLERS = [check]
