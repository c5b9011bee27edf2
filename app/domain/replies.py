"""The reply log's records and the pure rules over them: what one forwarded chat
request leaves behind (its lineage), per-bot figures, and the difference between
the settings a reply used and the settings a replay would use.

Pure: no I/O. The store reads and writes these; the services build them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

# A request or conversation id a caller may choose: short, and only characters that are
# harmless in a header, a log line and a URL path segment.
SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_PAGE = 500


class ReplyLogMode(StrEnum):
    """BOTSETTINGS_REPLY_LOG: what the gateway keeps of each forwarded request."""

    OFF = "off"  # nothing
    META = "meta"  # the lineage and the outcome, never the text of a message
    FULL = "full"  # also the request's messages, so a replay can be forwarded again


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """One forwarded request: which settings shaped it and what came back."""

    request_id: str
    bot: str
    at: datetime
    revision: int
    conversation_id: str | None = None
    pinned: bool = False  # the revision came from a conversation's pin (or X-Settings-Pin)
    settings: dict[str, list[Any]]  # key → [value, source] of every setting the request used
    overrides: dict[str, Any]  # key → value the request overrode
    params: dict[str, Any]  # the upstream body without its messages
    model: str
    model_source: str
    upstream_model: str | None = None  # what the request asked for (upstream_model), if anything
    stream: bool = False
    status: int  # what the gateway answered
    upstream_status: int | None = None
    error: str | None = None
    latency_ms: float
    finish_reason: str | None = None  # "length": the reply was truncated by max_tokens
    usage: Usage | None = None
    context: dict[str, Any]  # what the window and the budget did (counts, never text)
    messages: list[dict[str, Any]] | None = None  # only with BOTSETTINGS_REPLY_LOG=full
    replay_of: str | None = None


class ReplyPage(msgspec.Struct, frozen=True, kw_only=True):
    replies: list[Reply]
    next_cursor: str | None  # continue below this id


class ReplyFilter(msgspec.Struct, frozen=True, kw_only=True):
    bot: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None  # "ok" (2xx), "error" (anything else) or an exact code
    bots: frozenset[str] | None = None  # a limited token sees only these


class BotFigures(msgspec.Struct, frozen=True, kw_only=True):
    """Per bot over a window: for judging a change by what its replies did."""

    bot: str
    count: int
    errors: int  # the gateway answered an error (the upstream failed or timed out)
    p95_latency_ms: float | None
    truncated: int  # finish_reason "length"


class SettingChange(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    sent: list[Any] | None  # [value, source] when the reply was made; None: not used then
    replay: list[Any] | None  # [value, source] at the replay's point


def status_matches(status_filter: str) -> tuple[str, int | None]:
    """``ok``, ``error`` or a code, as (kind, code); ValueError names what is allowed."""
    if status_filter in ("ok", "error"):
        return status_filter, None
    if status_filter.isdigit() and 100 <= int(status_filter) <= 599:
        return "code", int(status_filter)
    raise ValueError(f"status must be ok, error or an HTTP status code, got {status_filter!r}")


def settings_diff(sent: Mapping[str, list[Any]], replay: Mapping[str, list[Any]]) -> list[SettingChange]:
    """Every key whose value or source differs between the two, in key order."""
    keys = sorted(set(sent) | set(replay))
    return [SettingChange(key=k, sent=_pair(sent.get(k)), replay=_pair(replay.get(k)))
            for k in keys if _pair(sent.get(k)) != _pair(replay.get(k))]


def params_diff(sent: Mapping[str, Any], replay: Mapping[str, Any]) -> dict[str, list[Any]]:
    """key → [sent, replay] for each upstream body field (messages aside) that differs."""
    return {k: [sent.get(k), replay.get(k)] for k in sorted(set(sent) | set(replay))
            if k != "messages" and sent.get(k) != replay.get(k)}


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (what PostgreSQL's percentile_disc gives)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _pair(item: Any) -> list[Any] | None:
    return None if item is None else list(item)
