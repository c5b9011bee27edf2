"""What a process that follows the settings receives: a bootstrap document (every
chosen bot's effective settings at one revision) and then one message per change.

Pure: the store supplies the stored layers with the revision that wrote each value,
the caller supplies bots.yaml and the environment; nothing here reads or waits.

A follower keeps, per bot, the stored bot layer, the shared stored global layer and
a *fallback* (the first present of bots.yaml → environment → default, which no
change in the log can alter). The effective value of a key is then the bot's stored
value, else the global one, else the fallback — the same order as
:func:`app.domain.resolution.build_snapshot`, so a change message (which carries the
events' values) is enough to stay current without asking the service again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from app.domain import scopes
from app.domain.events import AppliedChange, Event, Op
from app.domain.resolution import Layer, LayerValues, build_snapshot
from app.domain.scopes import Scope

# (value, revision that wrote it) per key, per scope
StoredLayers = Mapping[Scope, Mapping[str, tuple[Any, int]]]


class StoredAt(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    revision: int


class Effective(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    source: str  # bot | global | yaml | env | default
    revision: int | None  # the event that wrote it; None for bots.yaml, environment, default


class Fallback(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    source: str  # yaml | env | default


class BotState(msgspec.Struct, frozen=True, kw_only=True):
    settings: dict[str, Effective]
    stored: dict[str, StoredAt]  # the bot's own scope
    fallback: dict[str, Fallback]


class Bootstrap(msgspec.Struct, frozen=True, kw_only=True):
    revision: int  # every value below is as of this revision
    bots: dict[str, BotState]
    global_: dict[str, StoredAt] = msgspec.field(name="global")


def bot_state(slug: str, revision: int, stored: StoredLayers, yaml: Mapping[str, Any], env: Mapping[str, Any]
              ) -> BotState:
    own = stored.get(scopes.bot(slug), {})
    glob = stored.get(scopes.GLOBAL, {})
    effective = build_snapshot(slug, revision, LayerValues(
        bot={k: v for k, (v, _) in own.items()}, global_={k: v for k, (v, _) in glob.items()}, yaml=yaml, env=env))
    fallback = build_snapshot(slug, revision, LayerValues(bot={}, global_={}, yaml=yaml, env=env))
    settings = {}
    for key, resolved in effective.values.items():
        written = own.get(key) if resolved.source is Layer.BOT else (
            glob.get(key) if resolved.source is Layer.GLOBAL else None)
        settings[key] = Effective(value=resolved.value, source=resolved.source.value,
                                  revision=written[1] if written else None)
    return BotState(settings=settings,
                    stored={k: StoredAt(value=v, revision=r) for k, (v, r) in own.items() if k in settings},
                    fallback={k: Fallback(value=r.value, source=r.source.value) for k, r in fallback.values.items()})


def group_changes(events: Iterable[Event]) -> list[AppliedChange]:
    """Consecutive events of one change → one AppliedChange carrying them (the log's order)."""
    groups: list[list[Event]] = []
    for event in events:
        if groups and groups[-1][0].change_id == event.change_id:
            groups[-1].append(event)
        else:
            groups.append([event])
    return [AppliedChange(change_id=evs[0].change_id, first_revision=evs[0].revision,
                          last_revision=evs[-1].revision, scopes=sorted({str(e.scope) for e in evs}),
                          keys=sorted({e.key for e in evs}), events=tuple(evs)) for evs in groups]


def change_message(change: AppliedChange, bots: frozenset[str] | None, every_revision: bool = False) -> bytes | None:
    """One server-sent event for ``change``; None when there is nothing to tell.

    ``bots`` limits what it reveals (a token limited to some bots): events of other
    bots' scopes are left out; a change that touched no scope it may see is not told
    at all, and when it touched one it may not see, ``keys`` is withheld (the events
    still name the visible ones). ``every_revision`` (a follower keeping a gapless
    copy, botsettings-client) gets an empty notice instead of nothing, so its
    revision keeps step: that a change happened at a revision is no more than the
    next message's revision tells anyway."""
    events = change.events if bots is None else [e for e in change.events
                                                 if e.scope.is_global or e.scope.id in bots]
    shown, keys = change.scopes, change.keys
    if bots is not None:
        shown = sorted({str(e.scope) for e in events})
        if not shown and not every_revision:
            return None
        if len(shown) < len(change.scopes):
            keys = []
    data = {"revision": change.last_revision, "first_revision": change.first_revision,
            "change_id": str(change.change_id), "scopes": shown, "keys": keys,
            "events": [{"revision": e.revision, "scope": str(e.scope), "key": e.key, "op": e.op.value,
                        **({"value": e.value} if e.op is Op.SET else {})} for e in events]}
    return b"id: %d\nevent: change\ndata: %s\n\n" % (change.last_revision, msgspec.json.encode(data))


HEARTBEAT = b": heartbeat\n\n"


def bootstrap(revision: int, stored: StoredLayers, chosen: list[str], yaml_of: Any, env: Mapping[str, Any]
              ) -> Bootstrap:
    """The document for ``chosen`` bots (already checked to exist); ``yaml_of(slug)`` is
    the bot's bots.yaml layer."""
    glob = stored.get(scopes.GLOBAL, {})
    return Bootstrap(revision=revision, global_={k: StoredAt(value=v, revision=r) for k, (v, r) in glob.items()},
                     bots={slug: bot_state(slug, revision, stored, yaml_of(slug), env)
                           for slug in chosen})


def known_bots(stored: StoredLayers, yaml_bots: Iterable[str]) -> set[str]:
    """Bots in bots.yaml and bots with a stored value (as the resolver counts them)."""
    return {s.id for s, values in stored.items() if not s.is_global and values} | set(yaml_bots)
