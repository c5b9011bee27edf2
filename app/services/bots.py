"""Bots as database records (see :class:`BotsService`)."""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain import scopes
from app.domain.adoption import delete_stored
from app.domain.bot_document import EditChange, edit_operations
from app.domain.bots_yaml import PROFILE_KEYS
from app.domain.errors import Conflict, FieldError, InvalidScope, NotFound, ValidationFailed
from app.domain.events import ChangeRequest, ChangeResult, Expectations, Operation, Source, normalize_request, set_op
from app.domain.registry import REGISTRY, canonical_key
from app.domain.resolution import Resolved
from app.services.platform_profiles import PlatformProfiles
from app.services.settings import SettingsService

PROFILE_FIELDS = tuple(k for k in REGISTRY if k in PROFILE_KEYS)  # registry order


class ResolvedValue(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    source: str  # bot | yaml | default (a profile is never global or env)


class BotProfile(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    revision: int
    in_yaml: bool
    in_database: bool
    stored_keys: int
    profile: dict[str, ResolvedValue]


class EditStart(msgspec.Struct, frozen=True, kw_only=True):
    revision: int  # the bot scope's revision: the edit expects it unchanged
    head: int
    values: dict[str, Resolved]


class BatchItem(msgspec.Struct, frozen=True, kw_only=True):
    scope_type: str
    scope_id: str | None = None
    key: str
    value: Any = None


class BotsService:
    """Owns: a bot's resolved profile, creating and deleting bots, the bot editor's read
    and write, the platform's batch write and (``profiles``) its profile routes. Every write is one change through
    SettingsService.apply."""

    def __init__(self, settings: SettingsService) -> None:
        self._settings = settings
        self.profiles = PlatformProfiles(settings)  # the platform's profile routes

    async def bot_profile(self, slug: str) -> BotProfile:
        await self._settings.refresh()
        snap = self._settings.snapshot(slug)
        stored = self._settings.stored(scopes.bot(slug))
        return BotProfile(slug=slug, revision=snap.revision, in_yaml=self._settings.in_yaml(slug),
                          in_database=bool(stored), stored_keys=len(stored),
                          profile={k: ResolvedValue(value=snap[k], source=snap.source(k).value)
                                   for k in PROFILE_FIELDS})

    async def create_bot(self, slug: str, profile: dict[str, Any], settings: dict[str, Any], *,
                         actor: str, reason: str = "", source: Source = Source.API) -> ChangeResult:
        """A new bot stored in the database: its profile (``name`` defaults to the slug,
        capitalised) and settings, in one change. Conflict if the bot exists anywhere."""
        scope = scopes.bot(slug)
        misplaced = [FieldError(key=k, code="not_a_profile_field", scope=str(scope),
                                message=f"'{k}' is not a profile field; put settings under 'settings'")
                     for k in profile if canonical_key(k)[0] not in PROFILE_KEYS]
        if misplaced:
            raise ValidationFailed(misplaced)
        view = await self._settings.scope_view(scope)
        where = ("bots.yaml" if self._settings.in_yaml(slug) else "the database" if view.values else None)
        if where:
            raise Conflict(f"bot '{slug}' already exists (in {where})", bot=slug)
        values = {"name": slug.capitalize(), **profile, **settings}
        dupes = set(profile) & set(settings)
        if dupes:
            raise ValidationFailed([FieldError(key=k, code="duplicate_key", message=f"'{k}' is given twice")
                                    for k in sorted(dupes)])
        ops = [set_op(scope, k, v) for k, v in values.items()]
        # Expecting the scope's revision makes a concurrent create of the same slug a conflict.
        expect = Expectations(scope_revisions={scope: view.revision})
        return await self._settings.apply(ChangeRequest(ops=ops, actor=actor, reason=reason or f"create bot {slug}",
                                                 source=source, expect=expect))

    async def delete_bot(self, slug: str, *, actor: str, reason: str = "",
                         source: Source = Source.API) -> ChangeResult:
        """Clear a bot's database scope in one change; its history stays in the log."""
        scope = scopes.bot(slug)
        view = await self._settings.scope_view(scope)
        if not view.values:
            await self._settings.refresh()
            if not self._settings.is_known(slug):
                raise NotFound(f"unknown bot '{slug}': it is neither in bots.yaml nor in the database", bot=slug)
            return ChangeResult(change_id=None, first_revision=None, last_revision=None, head=view.head, items=[])
        ops = [delete_stored(scope, v.key) for v in view.values]
        expect = Expectations(scope_revisions={scope: view.revision})
        return await self._settings.apply(ChangeRequest(ops=ops, actor=actor, reason=reason or f"delete bot {slug}",
                                                 source=source, expect=expect))

    async def edit_start(self, slug: str) -> EditStart:
        view = await self._settings.scope_view(scopes.bot(slug))
        await self._settings.refresh()
        snap = self._settings.snapshot(slug)
        return EditStart(revision=view.revision, head=snap.revision, values=dict(snap.values))

    async def edit_apply(self, slug: str, changes: list[EditChange], expect_revision: int, *,
                         actor: str, reason: str) -> ChangeResult:
        expect = Expectations(scope_revisions={scopes.bot(slug): expect_revision})
        return await self._settings.apply(ChangeRequest(ops=edit_operations(slug, changes), actor=actor,
                                                 reason=reason or f"bot edit {slug}", source=Source.CLI, expect=expect))

    async def batch_set(self, items: list[BatchItem], *, actor: str, reason: str = "",
                        source: Source = Source.API) -> ChangeResult:
        """Set every item in one change, or none: errors name the item by its index."""
        if not items:
            raise ValidationFailed([FieldError(key="items", message="the batch is empty")])
        ops: list[Operation] = []
        index: dict[tuple[str, str], int] = {}
        errors: list[tuple[int, FieldError]] = []
        for n, item in enumerate(items):
            try:
                scope = scopes.from_parts(item.scope_type, item.scope_id)
            except InvalidScope as exc:
                errors.append((n, FieldError(key=item.key, code="invalid_scope", message=exc.message)))
                continue
            index.setdefault((str(scope), canonical_key(item.key)[0]), n)
            ops.append(set_op(scope, item.key, item.value))
        request = ChangeRequest(ops=ops, actor=actor, reason=reason, source=source)
        try:
            normalize_request(request)  # every item's problem at once, not only the first kind
        except ValidationFailed as exc:
            errors += [(index.get((e.scope or "", e.key), -1), e) for e in exc.errors]
        if not errors:
            return await self._settings.apply(request)
        errors.sort(key=lambda pair: pair[0])
        located = [FieldError(key=e.key, code=e.code, scope=e.scope, message=f"items[{n}]: {e.message}")
                   for n, e in errors]
        failed = sorted({n for n, _ in errors})
        refusal = ValidationFailed(located, f"the batch was refused and nothing was applied: "
                                            f"{', '.join(f'items[{n}]' for n in failed)} invalid")
        refusal.extra["items"] = failed
        raise refusal
