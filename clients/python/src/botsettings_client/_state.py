"""The local copy: what the bootstrap gave and what each change message does to it.

Pure (no I/O). Per bot it keeps the bot's stored values, the shared stored global
values and the bot's fallback (bots.yaml → environment → default, which no change in
the log can alter); a key's effective value is the bot's stored one, else the global
one, else the fallback — the service's own resolution order. Readers see whole
changes: each applied message swaps in one new immutable view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Value:
    """A setting's effective value, where it came from and the revision that wrote it
    (None for bots.yaml, the environment and defaults: they are not in the log)."""

    value: Any
    source: str
    revision: int | None


@dataclass(frozen=True, slots=True)
class Change:
    """One effective value that a change altered, as a change callback receives it."""

    bot: str
    key: str
    old: Value | None
    new: Value | None
    revision: int


class Gap(Exception):
    """A message does not follow the revision the copy is at: bootstrap again."""


class NewBot(Exception):
    """A change names a bot the copy has no fallback for (created after the bootstrap)."""


Effective = Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class View:
    revision: int
    bots: Mapping[str, Effective]


class State:
    def __init__(self, document: dict[str, Any]) -> None:
        self.revision: int = document["revision"]
        self.global_: dict[str, tuple[Any, int]] = {k: (v["value"], v["revision"])
                                                    for k, v in document["global"].items()}
        self.stored: dict[str, dict[str, tuple[Any, int]]] = {}
        self.fallback: dict[str, dict[str, tuple[Any, str]]] = {}
        for slug, bot in document["bots"].items():
            self.stored[slug] = {k: (v["value"], v["revision"]) for k, v in bot["stored"].items()}
            self.fallback[slug] = {k: (v["value"], v["source"]) for k, v in bot["fallback"].items()}
        self.view = View(self.revision, MappingProxyType({s: self._resolve(s) for s in self.fallback}))

    def to_document(self) -> dict[str, Any]:
        """The bootstrap document this state stands for (what the snapshot file holds)."""
        view = self.view.bots
        return {"revision": self.revision,
                "global": {k: {"value": v, "revision": r} for k, (v, r) in self.global_.items()},
                "bots": {slug: {
                    "settings": {k: {"value": e.value, "source": e.source, "revision": e.revision}
                                 for k, e in view[slug].items()},
                    "stored": {k: {"value": v, "revision": r} for k, (v, r) in self.stored[slug].items()},
                    "fallback": {k: {"value": v, "source": s} for k, (v, s) in self.fallback[slug].items()},
                } for slug in self.fallback}}

    def _resolve(self, slug: str, keys: list[str] | None = None) -> Effective:
        """The bot's effective values; with ``keys``, only those are resolved again (a
        change touches a few keys, and a process may follow with many clients)."""
        own, fallback = self.stored[slug], self.fallback[slug]
        values: dict[str, Value] = {} if keys is None else dict(self.view.bots[slug])
        for key in fallback if keys is None else keys:
            if key not in fallback:
                continue  # a global key that bots do not have
            if key in own:
                values[key] = Value(own[key][0], "bot", own[key][1])
            elif key in self.global_:
                values[key] = Value(self.global_[key][0], "global", self.global_[key][1])
            else:
                values[key] = Value(fallback[key][0], fallback[key][1], None)
        return MappingProxyType(values)

    def apply(self, message: dict[str, Any], all_bots: bool) -> list[Change]:
        """Apply one change message; returns the effective values it altered.
        Raises Gap (or NewBot, when following every bot) without changing anything."""
        first, last = message["first_revision"], message["revision"]
        if last <= self.revision:
            return []  # already applied (a resumed stream may repeat the last one)
        if first != self.revision + 1:
            raise Gap(f"change {first}…{last} does not follow revision {self.revision}")
        touched: set[str] = set()
        for event in message["events"]:
            scope = event["scope"]
            if scope != "global":
                slug = scope.removeprefix("bots/")
                if slug not in self.fallback and all_bots and event["op"] == "set":
                    raise NewBot(slug)
        for event in message["events"]:
            scope, key = event["scope"], event["key"]
            if scope == "global":
                layer = self.global_
                touched.update(self.fallback)
            else:
                slug = scope.removeprefix("bots/")
                if slug not in self.stored:
                    continue  # a bot this copy does not follow
                layer = self.stored[slug]
                touched.add(slug)
            if event["op"] == "set":
                layer[key] = (event["value"], event["revision"])
            else:
                layer.pop(key, None)
        self.revision = last
        keys = sorted({e["key"] for e in message["events"]})  # (a limited token's message may withhold "keys")
        old = self.view.bots
        new = dict(old)
        changes = []
        for slug in touched:
            new[slug] = self._resolve(slug, keys)
            for key in keys:
                before, after = old[slug].get(key), new[slug].get(key)
                if before != after:
                    changes.append(Change(slug, key, before, after, last))
        self.view = View(last, MappingProxyType(new))
        return changes


def differences(old: View | None, new: View) -> list[Change]:
    """Every effective value that differs between two views (after a fresh bootstrap)."""
    changes = []
    for slug, values in new.bots.items():
        before = old.bots.get(slug, {}) if old is not None else {}
        for key, value in values.items():
            if before.get(key) != value:
                changes.append(Change(slug, key, before.get(key), value, new.revision))
    return changes
