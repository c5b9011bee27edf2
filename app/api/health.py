"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from app.api.errors import problem
from app.store import migrations
from app.store.errors import is_unavailable
from app.version import VERSION


@get("/healthz", summary="The process is up, and the version it runs", opt={"public": True})
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": VERSION}


@get("/readyz", summary="The database is reachable and the schema is at head", opt={"public": True})
async def readyz(state: State) -> Response[Any]:
    try:
        current = await migrations.current_revision(state.runtime.engine)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return problem(503, "Not ready", f"the database is unreachable ({type(exc).__name__})")
    wanted = migrations.head_revision()
    if current != wanted:
        return problem(503, "Not ready", f"the schema is at {current}, not {wanted}: run `botsettings db upgrade`")
    return Response({"status": "ready", "schema": current})


HANDLERS = [healthz, readyz]
