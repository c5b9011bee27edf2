"""The platform's bot profiles (`/v1/bots/{slug}/profile`, `/v1/bots/profiles`) over
bot-scope settings: see :class:`PlatformProfiles` and app/domain/platform_profile.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain import platform_profile as pp
from app.domain import scopes
from app.domain.adoption import delete_stored
from app.domain.errors import NotFound
from app.domain.events import ChangeRequest, Expectations, Source, set_op
from app.domain.registry import REGISTRY
from app.domain.resolution import Layer, Snapshot
from app.domain.scopes import ScopeType
from app.services.settings import SettingsService


def _when(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


class PlatformProfiles:
    """Reads and writes a bot's profile in the platform's shape. A save is ONE change of
    bot-scope events (source api), so history, as-of reads and rollback cover it."""

    def __init__(self, settings: SettingsService) -> None:
        self._settings = settings

    def _known(self, slug: str) -> str:
        slug = scopes.check_slug(slug.strip().lower())
        if not self._settings.is_known(slug):
            raise NotFound(f"Bot profile not found: no bot '{slug}' in bots.yaml or the database", bot=slug)
        return slug

    def _answer(self, slug: str, snap: Snapshot, first_seen: float | None,
                updated_at: datetime | None = None) -> dict[str, Any]:
        keys = pp.profile_keys()
        resolved = {k: snap[k] for k in keys if k in snap.values}
        # The platform answers the bot's own default model; null when it uses the global one.
        own = snap["default_model"] if snap.source("default_model") in (Layer.BOT, Layer.YAML) else None
        settings = {k: snap[k] for k in snap if k not in keys}
        body = pp.answer(slug, resolved, own, settings)
        body["created_at"] = _when(first_seen)
        body["updated_at"] = updated_at.isoformat() if updated_at else None
        return body

    async def get(self, slug: str) -> dict[str, Any]:
        await self._settings.refresh()
        slug = self._known(slug)
        view = await self._settings.scope_view(scopes.bot(slug))
        _, first = await self._settings.bots_first_seen()
        updated = max((v.updated_at for v in view.values), default=None)
        return self._answer(slug, self._settings.snapshot(slug), first.get(slug), updated)

    async def every(self) -> list[dict[str, Any]]:
        """Every known bot's profile, in slug order (the platform's `GET /v1/bots` `data`).
        As the platform's BotInfo, `settings` holds the keys a bot may set: global-only
        ones (the default bot, the model catalogue) are not a bot's, and would tell a
        token limited to one bot of the others."""
        await self._settings.refresh()
        _, first = await self._settings.bots_first_seen()
        every = [self._answer(slug, self._settings.snapshot(slug), first.get(slug))
                 for slug in sorted(self._settings.known_bots())]
        for body in every:
            body["settings"] = {k: v for k, v in body["settings"].items()
                                if k in REGISTRY and ScopeType.BOT in REGISTRY[k].scopes}
        return every

    async def list(self, *, q: str | None, flags: dict[str, bool | None], default_model: str | None,
                   limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        await self._settings.refresh()
        _, first = await self._settings.bots_first_seen()
        every = [self._answer(slug, self._settings.snapshot(slug), first.get(slug))
                 for slug in self._settings.known_bots()]
        chosen = [p for p in every if pp.matches(p, q=q, flags=flags, default_model=default_model)]
        return chosen[offset:offset + limit], len(chosen)

    async def put(self, slug: str, body: dict[str, Any], *, actor: str, reason: str) -> dict[str, Any]:
        scope = scopes.bot(slug.strip().lower())
        view = await self._settings.scope_view(scope)
        stored_extra = next((v.value for v in view.values if v.key == pp.EXTRA), None)
        values = pp.split_put(body, stored_extra if isinstance(stored_extra, dict) else None)
        await self._settings.apply(ChangeRequest(
            ops=[set_op(scope, k, v) for k, v in values.items()], actor=actor,
            reason=reason or f"profile of {scope.id} (platform editor)", source=Source.API,
            expect=Expectations(scope_revisions={scope: view.revision})))
        return await self.get(scope.id)

    async def patch(self, slug: str, body: dict[str, Any], *, actor: str, reason: str) -> dict[str, Any]:
        """Only the fields the body names, in one change (404 for a bot nobody knows)."""
        await self._settings.refresh()
        scope = scopes.bot(self._known(slug))
        view = await self._settings.scope_view(scope)
        stored_extra = next((v.value for v in view.values if v.key == pp.EXTRA), None)
        values = pp.split_patch(body, stored_extra if isinstance(stored_extra, dict) else None)
        if values:
            await self._settings.apply(ChangeRequest(
                ops=[set_op(scope, k, v) for k, v in values.items()], actor=actor,
                reason=reason or f"profile of {scope.id} (partial)", source=Source.API,
                expect=Expectations(scope_revisions={scope: view.revision})))
        return await self.get(scope.id)

    async def delete(self, slug: str, *, purge: bool, actor: str, reason: str) -> dict[str, Any]:
        """The profile keys stored for the bot (and with ``purge`` its settings too), in one
        change; the history stays in the log."""
        await self._settings.refresh()
        slug = self._known(slug)
        scope = scopes.bot(slug)
        view = await self._settings.scope_view(scope)
        profile = pp.profile_keys()
        doomed = [v.key for v in view.values if purge or v.key in profile]
        if doomed:
            await self._settings.apply(ChangeRequest(
                ops=[delete_stored(scope, k) for k in doomed], actor=actor, source=Source.API,
                reason=reason or f"delete profile of {slug}{' (purge)' if purge else ''}",
                expect=Expectations(scope_revisions={scope: view.revision})))
        answer: dict[str, Any] = {"success": True, "slug": slug}
        if purge:
            answer["purge"] = {"runtime_settings": sum(1 for k in doomed if k not in profile)}
        return answer
