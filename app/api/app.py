"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Response
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from app import metrics, web
from app.api import bots, chat, compat, errors, health, history, jobs, settings, snapshot, watch
from app.api.auth import make_guard
from app.api.openapi import document_problems
from app.config import Config, load_tokens
from app.logging import configure_logging
from app.runtime import Runtime
from app.scheduler.service import JobsService
from app.service import SettingsService

# Requests by route template, method and status; health probes and scrapes excluded.
PROMETHEUS = PrometheusConfig(app_name="botsettings", prefix="botsettings", group_path=True,
                              exclude=["^/metrics", "^/healthz", "^/readyz"])


# HTML pages (the OpenAPI UI, the operators' page) must not be framed or sniffed. The
# operators' page sets a stricter policy of its own (app/web/render.py), kept here.
_HTML_HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                 "Content-Security-Policy": "frame-ancestors 'none'"}


async def _security_headers(response: Response[object]) -> Response[object]:
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Static files (the page's CSS and JS) come as ASGI file responses, without media_type.
    if (getattr(response, "media_type", None) or "").startswith("text/html"):
        for name, value in _HTML_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


class MetricsController(PrometheusController):
    include_in_schema = False  # Prometheus's text format, for scrapers; not part of the API


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Litestar:
    """Build the app. With ``runtime`` given the caller owns it (tests, embedding);
    otherwise the app starts one from ``config`` in its lifespan and closes it after."""
    if config is None:  # a worker process started by `serve --workers`: configure it like the parent
        config = Config.from_env()
        configure_logging(config.log_format, config.log_level)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or await Runtime.start(config, listen=True, schedule=True)
        collector = metrics.register(app.state.runtime)
        app.state.chat = chat.Chat(config, app.state.runtime)
        try:
            yield
        finally:
            await app.state.chat.close()
            metrics.unregister(collector)
            if own:
                await app.state.runtime.close()

    def provide_service(state: State) -> SettingsService:
        return state.runtime.service  # type: ignore[no-any-return]

    def provide_jobs(state: State) -> JobsService:
        return state.runtime.jobs  # type: ignore[no-any-return]

    tokens = load_tokens(config)  # a bad tokens file stops the start here
    return Litestar(
        route_handlers=[*health.HANDLERS, *settings.HANDLERS, *bots.HANDLERS, *watch.HANDLERS, *snapshot.HANDLERS,
                        *history.HANDLERS,
                        *chat.HANDLERS, *compat.HANDLERS, *jobs.HANDLERS, MetricsController, *web.HANDLERS],
        middleware=[PROMETHEUS.middleware],
        dependencies={"service": Provide(provide_service, sync_to_thread=False),
                      "jobs": Provide(provide_jobs, sync_to_thread=False)},
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
        guards=[make_guard(tokens)],
        after_request=_security_headers,
        cors_config=CORSConfig(allow_origins=list(config.cors_origins)) if config.cors_origins else None,
        lifespan=[lifespan],
        state=State({web.TOKENS: tokens}),  # the page's login checks a token against these
        template_config=web.TEMPLATES,
        on_startup=[document_problems],
        request_max_body_size=config.max_body_bytes,
        openapi_config=OpenAPIConfig(title="botsettings", version="0.1.0", path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
        debug=False,
    )
