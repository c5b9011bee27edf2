"""Compare on the page: two bots side by side (every key, its value and source in each,
differences first), and one scope at two points in time."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.domain.access import sees_bot
from app.domain.history import Point, parse_revision
from app.domain.resolution import BOT_KEYS, Snapshot
from app.domain.scopes import parse_scope
from app.http.auth import require_read
from app.http.deps import History, Service
from app.web.history_pages import text_diff
from app.web.render import current_principal, page


class Side(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    source: str


class KeyComparison(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    a: Side
    b: Side
    differs: bool


def _same(x: Any, y: Any) -> bool:
    return msgspec.json.encode(x, order="sorted") == msgspec.json.encode(y, order="sorted")


def compare_bots(a: Snapshot, b: Snapshot) -> list[KeyComparison]:
    """Every bot key of two snapshots; keys whose values differ first, then by name."""
    rows = []
    for defn in BOT_KEYS:
        ra, rb = a.values[defn.key], b.values[defn.key]
        rows.append(KeyComparison(key=defn.key, a=Side(value=ra.value, source=ra.source.value),
                                  b=Side(value=rb.value, source=rb.source.value),
                                  differs=not _same(ra.value, rb.value)))
    return sorted(rows, key=lambda r: (not r.differs, r.key))


@get("/compare", name="web.compare")
async def compare_page(request: Request[Any, Any, Any], service: Service, history: History,
                       a: FromQuery[str | None] = None, b: FromQuery[str | None] = None,
                       to: FromQuery[str | None] = None) -> Template:
    principal = current_principal(request)
    bots = [s for s in service.known_bots() if sees_bot(principal, s)]
    where = request.query_params.get("in") or None
    start = request.query_params.get("from")  # a Python keyword: read by hand
    rows: list[KeyComparison] | None = None
    diff = None
    if a and b:
        for slug in (a, b):
            require_read(request, parse_scope(f"bots/{slug}"))
        rows = compare_bots(service.snapshot(a), service.snapshot(b))
    elif where and (start or to):
        target = parse_scope(where)
        require_read(request, target)
        end = Point(revision=parse_revision(to, "to")) if to else Point(revision=service.revision)
        diff = await history.diff(Point(revision=parse_revision(start or "0", "from")), end, target)
    return page(request, "compare.html", bots=bots, a=a, b=b, rows=rows, diff=diff, where=where, start=start,
                to=to, text_diff=text_diff, revision=service.revision)


HANDLERS = [compare_page]
