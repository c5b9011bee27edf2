"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from app.domain.errors import Unavailable
from app.http.problems import problem
from app.store import migrations
from app.version import VERSION


@get("/healthz", summary="The process is up, and the version it runs", opt={"public": True})
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": VERSION}


# The platform's own probe (its ServiceClient and CLI tests ask GET /health on :8642).
@get("/health", summary="The process is up (the platform's path and shape)", opt={"public": True})
async def health() -> dict[str, str]:
    return {"status": "ok", "version": VERSION}


@get("/readyz", summary="The database is reachable and the schema is at head", opt={"public": True})
async def readyz(state: State) -> Response[Any]:
    try:
        current = await state.runtime.schema_revision()
    except Unavailable as exc:
        return problem(503, "Not ready", f"the database is unreachable ({exc})")
    wanted = migrations.head_revision()
    if current != wanted:
        return problem(503, "Not ready", f"the schema is at {current}, not {wanted}: run `botsettings db upgrade`")
    return Response({"status": "ready", "schema": current})


HANDLERS = [healthz, health, readyz]
