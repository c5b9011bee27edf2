"""The operators' page: server-rendered HTML over the service layer, served by the API's
app at `/`. Forms work without JavaScript; /static/app.js adds live updates and
confirmations. Every route here is marked ``web`` for the guard in app/http/auth.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.version import VERSION
from app.web import (
    compare_pages,
    errors,
    history_pages,
    jobs_pages,
    keys_pages,
    login,
    replies_pages,
    request_pages,
    settings_pages,
)
from app.web.render import TOKENS, field_text, show

HERE = Path(__file__).parent
__all__ = ["HANDLERS", "TEMPLATES", "TOKENS"]


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["show"] = show
    env.globals["field_text"] = field_text
    env.globals["version"] = VERSION  # the footer
    return env


TEMPLATES: TemplateConfig[Any] = TemplateConfig(instance=JinjaTemplateEngine.from_environment(_environment()))

HANDLERS = [
    Router("/", route_handlers=[*settings_pages.HANDLERS, *history_pages.HANDLERS, *jobs_pages.HANDLERS,
                               *keys_pages.HANDLERS, *replies_pages.HANDLERS, *compare_pages.HANDLERS,
                               *request_pages.HANDLERS, *login.HANDLERS],
           opt={"web": True}, exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
           include_in_schema=False),
    create_static_files_router(path="/static", directories=[HERE / "static"], opt={"public": True},
                               include_in_schema=False),
]
