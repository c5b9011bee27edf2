"""A rename is a registry change: events recorded under the old name are never
rewritten, and every read — history, a past state, diff, rollback, revert, export —
speaks of the current name with the value transformed (max_context_tokens →
history_tokens: positive budgets carry over, the old 0 = auto reads as unset)."""

from __future__ import annotations

import asyncpg

from app.domain import scopes
from app.domain.audit import EventFilter
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
        # a write under the old name is mapped, with a warning
        later = await service.patch(MIRA, {"max_context_tokens": 8000}, actor="bob")
        assert any("legacy name" in w for w in later.warnings)
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
        # a write of the old 0 ("auto") unsets the new name in that scope, as its old events read
        auto = await service.patch(MIRA, {"max_context_tokens": 0}, actor="bob")
        await service.refresh()
        assert any("unsetting 'history_tokens' in bots/mira" in w for w in auto.warnings)
        assert [(i.key, i.op.value, i.changed) for i in auto.items] == [("history_tokens", "delete", True)]
        assert (service.snapshot("mira")["history_tokens"], service.snapshot("mira").source("history_tokens").value) \
            == (12000, "global")
        assert not await raw.fetchval("SELECT count(*) FROM settings_current WHERE scope_id = 'mira' "
                                      "AND key IN ('history_tokens', 'max_context_tokens')")
    finally:
        await service.close()


async def test_an_import_of_the_old_auto_unsets_the_new_name_and_drops_retired_keys(db: Database) -> None:
    """`botsettings import` makes a scope exactly what the file says: the old 0 ("auto")
    and a key the platform dropped hold no value, so the scope ends without them — each
    named in a warning."""
    service, history = settings_with_history(db)
    adoption = AdoptionService(db, service, history)
    try:
        await service.patch(MIRA, {"history_tokens": 8000, "temperature": 0.5}, actor="alice")
        text = "bots:\n  mira:\n    max_context_tokens: 0\n    max_context_messages: 10\n    temperature: 0.5\n"
        outcome = await adoption.import_text(text, "seed.yaml", dry_run=False, actor="bob", reason="")
        await service.refresh()
        assert service.stored(MIRA) == {"temperature": 0.5}
        warnings = "\n".join(outcome.plan.warnings)
        assert "unsetting 'history_tokens' in bots/mira" in warnings
        assert "'max_context_messages' (in bots/mira) is no longer a setting" in warnings
    finally:
        await service.close()
