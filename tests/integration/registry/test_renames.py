"""A rename is a registry change: events recorded under the old name are never
rewritten, and every read — history, a past state, diff, rollback, revert, export —
speaks of the current name with the value transformed (max_context_tokens →
history_tokens: positive budgets carry over, the old 0 = auto reads as unset)."""

from __future__ import annotations

import asyncpg
import pytest

from app.domain import scopes
from app.domain.audit import EventFilter
from app.domain.errors import ValidationFailed
from app.domain.history import Point
from app.services import AdoptionService, settings_with_history
from app.store.database import Database
from tests.support.registries import BEFORE_RENAME, installed

MIRA, NOVA, GLOBAL = scopes.bot("mira"), scopes.bot("nova"), scopes.GLOBAL


async def test_after_a_rename_every_read_of_the_past_speaks_of_the_new_name(
        db: Database, raw: asyncpg.Connection) -> None:
    with installed(BEFORE_RENAME):  # the seed era: max_context_tokens is a key
        service, _ = settings_with_history(db)
        await service.patch(MIRA, {"max_context_tokens": 64000, "temperature": 0.5}, actor="alice")
        await service.patch(NOVA, {"max_context_tokens": 0, "temperature": 0.4}, actor="alice", reason="auto")
        n = (await service.patch(GLOBAL, {"max_context_tokens": 12000}, actor="alice")).last_revision
        await service.close()
    # the rename: the built-in registry again (history_tokens, max_context_tokens a legacy name)
    raw_keys = await raw.fetch("SELECT DISTINCT key FROM settings_events ORDER BY key")
    assert [r["key"] for r in raw_keys] == ["max_context_tokens", "temperature"]
    service, history = settings_with_history(db)
    adoption = AdoptionService(db, service, history)
    try:
        await service.refresh()
        # effective settings now
        assert service.snapshot("mira")["history_tokens"] == 64000
        nova = service.snapshot("nova")
        assert (nova["history_tokens"], nova.source("history_tokens").value) == (12000, "global")  # 0 → unset
        # as-of N
        past = await history.state_at(Point(revision=n))
        assert past.scopes == {"bots/mira": {"history_tokens": 64000, "temperature": 0.5},
                               "bots/nova": {"temperature": 0.4}, "global": {"history_tokens": 12000}}
        # history, filtered by the new name, finds the events recorded under the old one
        page = await history.history(EventFilter(key="history_tokens"))
        assert [(e.scope, e.key, e.op, e.value) for e in page.events] == [
            ("global", "history_tokens", "set", 12000), ("bots/nova", "history_tokens", "delete", None),
            ("bots/mira", "history_tokens", "set", 64000)]
        # a write under the old name is mapped, with a warning; its 0 has no counterpart
        later = await service.patch(MIRA, {"max_context_tokens": 8000}, actor="bob")
        assert any("legacy name" in w for w in later.warnings)
        with pytest.raises(ValidationFailed, match="no counterpart"):
            await service.patch(MIRA, {"max_context_tokens": 0}, actor="bob")
        # the write replaced the old-name row: the current name alone holds the value
        rows = await raw.fetch("SELECT key, value::text FROM settings_current WHERE scope_id = 'mira' ORDER BY key")
        assert [(r["key"], r["value"]) for r in rows] == [("history_tokens", "8000"), ("temperature", "0.5")]
        # diff N → now
        d = await history.diff(Point(revision=n), Point(revision=later.last_revision))
        assert [(i.scope, i.key, i.from_, i.to) for i in d.items] == [("bots/mira", "history_tokens", 64000, 8000)]
        # export at N
        exported = await adoption.export_text(at=Point(revision=n))
        assert "history_tokens: 64000" in exported and "max_context_tokens" not in exported
        # rollback to N: restores 64000 under the new name
        back = await history.rollback(Point(revision=n), actor="carol")
        await service.refresh()
        assert [(i.key, i.to) for i in back.diff] == [("history_tokens", 64000)]
        assert service.snapshot("mira")["history_tokens"] == 64000
        # the old events are still there, as written
        old = await raw.fetchval("SELECT count(*) FROM settings_events WHERE key = 'max_context_tokens'")
        assert old >= 3
    finally:
        await service.close()
