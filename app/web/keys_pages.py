"""The keys page: the registry as operators read it — every key's type, default,
where it applies (chat, agent, global only), its legacy names, and where its
definition comes from."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.http.deps import Keys
from app.version import VERSION
from app.web.render import page


@get("/keys", name="web.keys")
async def keys_page(request: Request[Any, Any, Any], registry: Keys,
                    bot_type: FromQuery[str | None] = None) -> Template:
    docs = await registry.keys(bot_type)
    return page(request, "keys.html", keys=[d for d in docs if d.category not in ("infra", "secret")],
                environment=[d for d in docs if d.category in ("infra", "secret")],
                bot_type=bot_type or "", version=VERSION)


HANDLERS = [keys_page]
