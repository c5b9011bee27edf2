"""Reads for followers: the stored layers with the revision that wrote each value,
and the head they belong to, in the caller's snapshot (the bootstrap document is built from
them; see app/domain/feed.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.registry import LEGACY_NAMES
from app.domain.scopes import Scope, ScopeType
from app.domain.upcast import current_name, upcast_values
from app.store import schema
from app.store.reader import head

Layers = dict[Scope, dict[str, tuple[Any, int]]]


async def stored_layers(conn: AsyncConnection, bots: list[str] | None) -> tuple[int, Layers]:
    """The head and the projection at it — the global scope and ``bots`` (None: every bot).
    Run it in a snapshot unit of work (Database.snapshot), so both are of one state."""
    at = await head(conn)
    c = schema.current.c
    query = sa.select(c.scope_type, c.scope_id, c.key, c.value, c.revision)
    if bots is not None:
        query = query.where(sa.or_(c.scope_type == ScopeType.GLOBAL.value,
                                   sa.and_(c.scope_type == ScopeType.BOT.value, c.scope_id.in_(bots))))
    layers: Layers = {}
    for row in await conn.execute(query):
        layers.setdefault(Scope(ScopeType(row.scope_type), row.scope_id), {})[row.key] = (row.value, row.revision)
    return at, {scope: _upcast(values) for scope, values in layers.items()}


def _upcast(values: dict[str, tuple[Any, int]]) -> dict[str, tuple[Any, int]]:
    """One scope's values under the registry's current names (app/domain/upcast.py)."""
    if not any(key in LEGACY_NAMES for key in values):
        return values
    renamed = upcast_values({key: value for key, (value, _) in values.items()})
    revisions = {current_name(key): revision for key, (_, revision) in values.items()}
    revisions.update({key: revision for key, (_, revision) in values.items() if key not in LEGACY_NAMES})
    return {key: (value, revisions[key]) for key, value in renamed.items()}
