"""The one service layer: the API, the CLI, the scheduler and the pipeline call this.

It validates (pure domain code), calls the store, and logs each change once.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.domain import scopes
from app.domain.bots_yaml import BotsConfig
from app.domain.errors import FieldError, ValidationFailed
from app.domain.events import (
    AppliedChange,
    ChangeRequest,
    ChangeResult,
    Expectations,
    Operation,
    Source,
    delete_op,
    normalize_request,
    set_op,
)
from app.domain.registry import canonical_key, lookup_writable
from app.domain.resolution import LayerReading, Snapshot
from app.domain.scopes import Scope
from app.resolver import Resolver
from app.store import reader, writer
from app.store.errors import unavailable_on_connection_loss
from app.store.listener import Listener, catch_up

log = structlog.get_logger("botsettings.service")


class ScopeView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    revision: int  # the scope's last event
    head: int
    values: list[reader.StoredValue]


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    key: str
    present: bool
    value: Any
    key_version: int
    head: int


class BotSummary(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name: str
    description: str
    default_model: str | None
    in_yaml: bool
    overrides: int  # keys stored in the bot's own scope
    default: bool


class SettingsService:
    def __init__(self, engine: AsyncEngine, resolver: Resolver | None = None) -> None:
        self.engine = engine
        self.resolver = resolver or Resolver(BotsConfig(), {})
        self.listener: Listener | None = None  # set by the runtime when the process listens

    # -- writes ---------------------------------------------------------------
    async def apply(self, request: ChangeRequest, *,
                    in_transaction: writer.InTransaction | None = None) -> ChangeResult:
        """Apply a change: validate every op, then one transaction (DESIGN.md invariants).
        ``in_transaction`` runs last inside that transaction (the scheduler claims a
        scheduled change there, so the claim and the change commit together)."""
        if not request.ops:
            raise ValidationFailed([FieldError(key="ops", message="a change needs at least one operation")])
        ops, warnings = normalize_request(request)
        started = time.perf_counter()
        async with unavailable_on_connection_loss():
            result = await writer.apply_change(self.engine, request, ops, in_transaction)
        metrics.CHANGE_SECONDS.observe(time.perf_counter() - started)
        metrics.CHANGES.labels(request.source.value, "applied" if result.changed else "noop").inc()
        if warnings:
            result = msgspec.structs.replace(result, warnings=warnings)
        if result.changed:
            await self.refresh()  # read-your-writes in this process, before the NOTIFY lands
            log.info("change.applied", change_id=str(result.change_id),
                     revisions=(result.first_revision, result.last_revision), actor=request.actor,
                     source=request.source.value, keys=[f"{i.scope}:{i.key}" for i in result.items if i.changed])
        else:
            log.info("change.noop", actor=request.actor, keys=[f"{i.scope}:{i.key}" for i in result.items])
        return result

    async def patch(self, scope: Scope, patch: dict[str, Any], *, actor: str, reason: str = "",
                    source: Source = Source.API, expect_revision: int | None = None) -> ChangeResult:
        """JSON merge-patch (RFC 7396) of one scope: ``null`` deletes a key (it inherits
        again), anything else sets it. A nullable key is set to null with ``set_value``."""
        ops: list[Operation] = [delete_op(scope, k) if v is None else set_op(scope, k, v)
                                for k, v in patch.items()]
        expect = Expectations(scope_revisions={scope: expect_revision} if expect_revision is not None else {})
        return await self.apply(ChangeRequest(ops=ops, actor=actor, reason=reason, source=source, expect=expect))

    async def set_value(self, scope: Scope, key: str, value: Any, *, actor: str, reason: str = "",
                        source: Source = Source.API, expect_version: int | None = None) -> ChangeResult:
        return await self._one(set_op(scope, key, value), actor, reason, source, expect_version)

    async def delete_value(self, scope: Scope, key: str, *, actor: str, reason: str = "",
                           source: Source = Source.API, expect_version: int | None = None) -> ChangeResult:
        return await self._one(delete_op(scope, key), actor, reason, source, expect_version)

    async def _one(self, op: Operation, actor: str, reason: str, source: Source,
                   expect_version: int | None) -> ChangeResult:
        key, _ = canonical_key(op.key)
        expect = Expectations(key_versions={(op.scope, key): expect_version} if expect_version is not None else {})
        return await self.apply(ChangeRequest(ops=[op], actor=actor, reason=reason, source=source, expect=expect))

    # -- reads ----------------------------------------------------------------
    async def scope_view(self, scope: Scope) -> ScopeView:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return ScopeView(scope=str(scope), revision=await reader.scope_revision(conn, scope),
                             head=await reader.head(conn), values=await reader.scope_values(conn, scope))

    async def key_view(self, scope: Scope, key: str) -> KeyView:
        key, _ = canonical_key(key)
        lookup_writable(key, scope)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            stored = await reader.stored_value(conn, scope, key)
            version = await reader.key_version(conn, scope, key)
            at = await reader.head(conn)
        return KeyView(scope=str(scope), key=key, present=stored is not None,
                       value=stored.value if stored else None, key_version=version, head=at)

    async def head(self) -> int:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return await reader.head(conn)

    # -- resolution -------------------------------------------------------------
    async def refresh(self) -> None:
        """Bring the in-memory state up to the database's head."""
        if self.listener is not None:
            await self.listener.refresh()
        else:
            async with unavailable_on_connection_loss():
                await catch_up(self.engine, self.resolver)

    def snapshot(self, slug: str, overrides: dict[str, Any] | None = None) -> Snapshot:
        """Every key of a bot at one revision, each with its source. No I/O."""
        scopes.check_slug(slug)
        return self.resolver.snapshot(slug, overrides)

    def explain(self, slug: str | None, key: str, overrides: dict[str, Any] | None = None) -> list[LayerReading]:
        if slug is not None:
            scopes.check_slug(slug)
        return self.resolver.explain(slug, canonical_key(key)[0], overrides)

    def bots(self) -> list[BotSummary]:
        resolver = self.resolver
        summaries = []
        for slug in resolver.known_bots():
            snap = resolver.snapshot(slug)
            summaries.append(BotSummary(
                slug=slug, name=snap["name"], description=snap["description"],
                default_model=snap["default_model"], in_yaml=slug in resolver.bots_config.bots,
                overrides=len(resolver.stored(scopes.bot(slug))), default=slug == resolver.bots_config.default_bot))
        return summaries

    async def changes_between(self, after: int, upto: int, limit: int = 1000) -> list[AppliedChange]:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return await reader.changes_between(conn, after, upto, limit)

    # -- integrity ------------------------------------------------------------
    async def verify(self) -> reader.VerifyReport:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            report = await reader.verify(conn)
        log.info("projection.verified", ok=report.ok, head=report.head, drift=len(report.drift),
                 log_problems=report.log_problems)
        return report

    async def rebuild(self) -> int:
        async with unavailable_on_connection_loss(), self.engine.begin() as conn:
            keys = await reader.rebuild(conn)
        log.info("projection.rebuilt", keys=keys)
        return keys

