"""PlatformService: adopting a running platform (llm-bawt) from its own database tables.

- ``migrate``: read the platform's ``runtime_settings`` and ``bot_profiles`` (another
  database, or this one), plan every row's fate in pure code
  (app/domain/platform_import.py) and write the plan as ONE change through
  SettingsService.apply, expecting every touched scope at the revision the plan was
  made from. The platform's tables are only read.
- ``attach`` / ``detach``: make the platform's tables in this database follow the log,
  their writes going through it, and back (app/store/platform_attach.py). Attach refuses while the
  platform's tables hold rows the database does not (run the migration first), so
  attaching never hides a value.
"""

from __future__ import annotations

import msgspec

from app.domain.errors import Conflict, FieldError
from app.domain.events import ChangeResult, Source
from app.domain.platform_import import Fate, PlatformPlan, ProfileRow, Progress, SettingRow, plan_platform_import
from app.domain.records import StoredState
from app.services.adoption import AdoptionService
from app.store import platform_attach
from app.store.database import Database
from app.store.platform_tables import read_platform_tables


class PlatformOutcome(msgspec.Struct, kw_only=True):
    plan: PlatformPlan
    result: ChangeResult | None = None
    dry_run: bool = False
    source_database: str = "this database"


class PlatformService:
    """Owns: importing the platform's settings tables, and attaching/detaching them in place."""

    def __init__(self, db: Database, adoption: AdoptionService) -> None:
        self._db = db
        self._adoption = adoption

    async def _read(self, url: str | None) -> tuple[list[SettingRow], list[ProfileRow]]:
        source = Database(url, pool_size=1) if url else self._db
        try:
            async with source.snapshot() as conn:
                return await read_platform_tables(conn)
        finally:
            if source is not self._db:
                await source.dispose()

    async def plan(self, url: str | None, *, overwrite: bool, progress: Progress | None = None
                   ) -> tuple[PlatformPlan, StoredState]:
        """Every row's fate against the stored state, and the state it was planned from."""
        settings, profiles = await self._read(url)
        state = await self._adoption.stored_state()
        return plan_platform_import(settings, profiles, state.values, overwrite=overwrite, progress=progress), state

    async def migrate(self, url: str | None, *, overwrite: bool, dry_run: bool, actor: str, reason: str,
                      progress: Progress | None = None) -> PlatformOutcome:
        where = "the platform's database" if url else "this database"
        plan, state = await self.plan(url, overwrite=overwrite, progress=progress)
        if dry_run:
            return PlatformOutcome(plan=plan, dry_run=True, source_database=where)
        result = await self._adoption.apply_ops(
            plan.operations(), state, actor=actor, reason=reason or "migrate from the platform's settings tables",
            source=Source.MIGRATION)
        return PlatformOutcome(plan=plan, result=result, source_database=where)

    async def status(self) -> str:
        async with self._db.read() as conn:
            return await platform_attach.state(conn)

    async def attach(self, *, force: bool = False) -> platform_attach.AttachReport:
        if not force and await self.status() == "detached":
            plan, _ = await self.plan(None, overwrite=False)
            pending = [r for r in plan.rows if r.fate in (Fate.ADD, Fate.DIFFERS)]
            if pending:
                raise Conflict(
                    f"the platform's tables hold {len(pending)} value(s) botsettings does not: attaching would hide "
                    "them. Run `botsettings migrate --from-platform-db` (with --overwrite to take the platform's "
                    "values), or attach --force to keep botsettings' values",
                    [FieldError(key=r.key or r.name, scope=r.scope, code=r.fate.value,
                                message=f"{r.table} row {r.row_id} ({r.name}): {r.fate.value}") for r in pending[:50]])
        async with self._db.write() as conn:
            report = await platform_attach.attach(conn)
        return report

    async def detach(self) -> dict[str, int]:
        async with self._db.write() as conn:
            return await platform_attach.detach(conn)
