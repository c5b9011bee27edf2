"""The whole stored state with every scope's revision, read in one snapshot: what an
import plans against, and the expectations that make its write refuse to land on a
state that moved after the plan was made."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.scopes import Scope, ScopeType
from app.store import reader


class StoredState(msgspec.Struct, kw_only=True):
    head: int
    values: dict[Scope, dict[str, Any]]
    scope_revisions: dict[Scope, int]  # the revision of each scope's last event; absent = 0

    def bots(self) -> list[str]:
        """Bots with values stored in their scope."""
        return sorted(s.id for s, v in self.values.items() if s.type is ScopeType.BOT and v)


async def read_state(conn: AsyncConnection) -> StoredState:
    head, values = await reader.all_current(conn)  # sets REPEATABLE READ: one snapshot for both reads
    rows = await conn.execute(sa.text(
        "SELECT scope_type, scope_id, max(revision) AS revision FROM settings_events GROUP BY 1, 2"))
    revisions = {Scope(ScopeType(r.scope_type), r.scope_id): r.revision for r in rows}
    return StoredState(head=head, values=values, scope_revisions=revisions)
