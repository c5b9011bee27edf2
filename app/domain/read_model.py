"""The process's in-memory view of the settings, and resolution against it.

The listener (app/store/listener.py) feeds it whole changes in revision order; it
applies each change in one synchronous step, so a snapshot — built without an
await — never mixes revisions. Snapshots are cached per bot and dropped when a
change touches that bot or the global scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import structlog

from app.domain import scopes
from app.domain.bots_yaml import BotsConfig
from app.domain.errors import NotFound
from app.domain.events import AppliedChange, Event, Op
from app.domain.history import put
from app.domain.registry import install
from app.domain.registry_log import is_definition, registry_from
from app.domain.resolution import (
    LayerReading,
    LayerValues,
    Resolved,
    Snapshot,
    build_snapshot,
    explain,
    validate_overrides,
)
from app.domain.scopes import GLOBAL, Scope, ScopeType
from app.domain.upcast import upcast_event, upcast_state

log = structlog.get_logger("botsettings.resolver")
_EMPTY: Mapping[str, Any] = {}


Subscriber = Callable[[AppliedChange], None]


class Resolver:
    def __init__(self, bots: BotsConfig, env: Mapping[str, Any]) -> None:
        self.bots_config = bots
        self.env = dict(env)
        self.revision = 0
        self.stale = False
        self._state: dict[Scope, dict[str, Any]] = {}
        self._cache: dict[str | None, Snapshot] = {}
        self._subscribers: list[Subscriber] = []

    # -- feeding ----------------------------------------------------------------
    def load(self, revision: int, state: dict[Scope, dict[str, Any]]) -> None:
        """Replace the whole state (start-up, or a catch-up too long to replay)."""
        self._state = state
        self._install_registry()
        self.revision = revision
        self._cache.clear()

    def apply(self, events: list[Event]) -> list[AppliedChange]:
        """Apply events after the current revision, in order; whole changes only."""
        changes: dict[UUID, list[Event]] = {}
        for event in events:
            if event.revision <= self.revision:
                continue
            if event.revision != self.revision + 1:
                raise RuntimeError(f"event {event.revision} does not follow revision {self.revision}")
            event = upcast_event(event)
            put(self._state, event.scope, event.key, event.op is Op.SET, event.value)
            if is_definition(event.key):
                self._install_registry()
            self.revision = event.revision
            changes.setdefault(event.change_id, []).append(event)
            if event.scope.is_global:
                self._cache.clear()
            else:
                self._cache.pop(event.scope.id, None)
        applied = [AppliedChange(change_id=cid, first_revision=evs[0].revision, last_revision=evs[-1].revision,
                                 scopes=sorted({str(e.scope) for e in evs}), keys=sorted({e.key for e in evs}),
                                 events=tuple(evs))
                   for cid, evs in changes.items()]
        for change in applied:
            for subscriber in list(self._subscribers):
                try:
                    subscriber(change)
                except Exception:
                    log.exception("subscriber.failed", change_id=str(change.change_id))
        return applied

    def _install_registry(self) -> None:
        """Install the registry the state's definitions make (app/domain/registry_log.py),
        then read the stored values again under its names (a rename may have come)."""
        install(registry_from(self._state.get(GLOBAL, {})))
        self._state = upcast_state(self._state)
        self._cache.clear()

    def set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            self._cache.clear()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    # -- reading ----------------------------------------------------------------
    def known_bots(self) -> list[str]:
        """Bots in bots.yaml and bots with a scope in the database."""
        stored = {s.id for s, values in self._state.items() if s.type is ScopeType.BOT and values}
        return sorted(stored | set(self.bots_config.bots))

    def is_known(self, slug: str) -> bool:
        return slug in self.bots_config.bots or bool(self._state.get(scopes.bot(slug)))

    def stored(self, scope: Scope) -> Mapping[str, Any]:
        return self._state.get(scope, _EMPTY)

    def snapshot(self, slug: str, overrides: Mapping[str, Any] | None = None) -> Snapshot:
        cached = self._cache.get(slug)
        if cached is None:
            if not self.is_known(slug):
                raise NotFound(f"unknown bot '{slug}': it is neither in bots.yaml nor in the database",
                               bot=slug)
            cached = self._cache[slug] = build_snapshot(slug, self.revision, self._layers(slug), self.stale)
        if overrides:
            values, _ = validate_overrides(overrides, scopes.bot(slug))
            return cached.with_overrides(values)
        return cached

    def global_snapshot(self) -> Snapshot:
        cached = self._cache.get(None)
        if cached is None:
            cached = self._cache[None] = build_snapshot(None, self.revision, self._layers(None), self.stale)
        return cached

    def resolve(self, slug: str, key: str) -> Resolved:
        try:
            return self.snapshot(slug).values[key]
        except KeyError:
            raise NotFound(f"'{key}' is not a setting a bot has") from None

    def explain(self, slug: str | None, key: str, overrides: Mapping[str, Any] | None = None
                ) -> list[LayerReading]:
        if slug is not None and not self.is_known(slug):
            raise NotFound(f"unknown bot '{slug}': it is neither in bots.yaml nor in the database", bot=slug)
        target = scopes.bot(slug) if slug is not None else GLOBAL
        values, _ = validate_overrides(overrides or {}, target)
        if key not in (self.snapshot(slug) if slug is not None else self.global_snapshot()).values:
            raise NotFound(f"'{key}' does not apply to {target}")
        return explain(key, slug, self._layers(slug), values)

    def _layers(self, slug: str | None) -> LayerValues:
        if slug is None:
            return LayerValues(bot=_EMPTY, global_=self.stored(GLOBAL), yaml=_EMPTY, env=self.env)
        return LayerValues(bot=self.stored(scopes.bot(slug)), global_=self.stored(GLOBAL),
                           yaml=self.bots_config.layer_for(slug), env=self.env)
