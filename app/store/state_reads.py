"""The whole stored state with every scope's revision, read in one snapshot: what an
import plans against, and the expectations that make its write refuse to land on a
state that moved after the plan was made."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.records import StoredState
from app.domain.scopes import Scope, ScopeType
from app.store import reader


async def read_state(conn: AsyncConnection, *, as_written: bool = False) -> StoredState:
    """``as_written``: under the names the values were stored under (no upcasting)."""
    # the caller's snapshot: one state for both reads
    head, values = await reader.all_current(conn, as_written=as_written)
    rows = await conn.execute(sa.text(
        "SELECT scope_type, scope_id, max(revision) AS revision FROM settings_events GROUP BY 1, 2"))
    revisions = {Scope(ScopeType(r.scope_type), r.scope_id): r.revision for r in rows}
    return StoredState(head=head, values=values, scope_revisions=revisions)
