"""A bot's recent replies: what the chat gateway forwarded for it, at which settings
revision (a link into the history), and what came back. Read-only."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app.domain.replies import ReplyFilter
from app.http.deps import Replies, Service
from app.web.render import page

SHOWN = 50


@get("/bots/{slug:str}/replies", name="web.bot_replies")
async def bot_replies_page(request: Request[Any, Any, Any], service: Service, replies: Replies,
                           slug: FromPath[str], status: FromQuery[str | None] = None) -> Template:
    profile = service.snapshot(slug)  # an unknown bot is a 404 before anything else
    shown = await replies.page(ReplyFilter(bot=slug, status=status or None), SHOWN)
    return page(request, "replies.html", slug=slug, profile=profile, replies=shown.replies, status_filter=status or "",
                revision=service.revision, logging=replies.recorder.mode.value)


HANDLERS = [bot_replies_page]
