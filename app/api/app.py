"""The Litestar application factory."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from app import metrics, web
from app.api import (
    bots,
    change_requests,
    chat,
    check,
    compat,
    compat_profiles,
    health,
    history,
    jobs,
    keys,
    replies,
    settings,
    snapshot,
    watch,
)
from app.api.fast_chat import PATH as CHAT_PATH
from app.api.fast_chat import FastChat
from app.api.fast_reads import FastReads
from app.api.openapi import document_problems
from app.config import Config, load_tokens
from app.http import problems
from app.http.auth import make_guard
from app.http.boundary import allowed_hosts, boundary_middleware
from app.http.headers import security_headers
from app.http.request_log import RequestLog
from app.http.route_metrics import RouteMetrics
from app.logging import configure_logging
from app.runtime import Runtime
from app.version import VERSION

# Requests by route template, method and status; health probes and scrapes excluded.
PROMETHEUS = PrometheusConfig(app_name="botsettings", prefix="botsettings", group_path=True,
                              exclude=["^/metrics", "^/healthz", "^/health$", "^/readyz"])


class MetricsController(PrometheusController):
    include_in_schema = False  # Prometheus's text format, for scrapers; not part of the API


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Litestar:
    """Build the app. With ``runtime`` given the caller owns it (tests, embedding);
    otherwise the app starts one from ``config`` in its lifespan and closes it after."""
    if config is None:  # a worker process started by `serve --workers`: configure it like the parent
        config = Config.from_env()
        configure_logging(config.log_format, config.log_level, sys.stdout)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or await Runtime.start(config, listen=True, schedule=True)
        collector = metrics.register(app.state.runtime)
        app.state.chat = chat.Chat(config, app.state.runtime)
        if own:  # a serving process: everything built so far lives as long as it does; out of
            # the collector's sight, a full collection under load no longer walks it all
            # (measured: 3 of them took 90 ms each in 12,000 chat requests, the gateway's p99)
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await app.state.chat.close()
            metrics.unregister(collector)
            if own:
                await app.state.runtime.close()

    def provider(name: str) -> Provide:
        def provide(state: State) -> Any:
            return getattr(state.runtime.services, name)
        return Provide(provide, sync_to_thread=False)

    tokens = load_tokens(config)  # a bad tokens file stops the start here
    hosts = allowed_hosts(config.host, config.allowed_hosts)
    application = Litestar(
        route_handlers=[*health.HANDLERS, *settings.HANDLERS, *bots.HANDLERS, *check.HANDLERS, *watch.HANDLERS,
                        *snapshot.HANDLERS, *history.HANDLERS, *keys.HANDLERS, *chat.HANDLERS, *replies.HANDLERS,
                        *compat.HANDLERS, *compat_profiles.HANDLERS, *jobs.HANDLERS,
                        *change_requests.HANDLERS, MetricsController, *web.HANDLERS],
        middleware=[PROMETHEUS.middleware,
                    boundary_middleware(hosts=hosts,
                                        tokenless=tokens is None, cors_origins=config.cors_origins,
                                        max_body_bytes=config.max_body_bytes)],
        # Handlers name the service they need: service (settings), history, bots, adoption, jobs, chat, registry,
        # replies, conversations.
        dependencies={"service": provider("settings"), **{name: provider(name) for name in
                                                          ("history", "bots", "adoption", "jobs", "chat", "registry",
                                                           "replies", "conversations", "proposals", "guards")}},
        exception_handlers=problems.HANDLERS,  # type: ignore[arg-type]
        guards=[make_guard(tokens)],
        after_request=security_headers,
        cors_config=CORSConfig(allow_origins=list(config.cors_origins)) if config.cors_origins else None,
        lifespan=[lifespan],
        state=State({web.TOKENS: tokens}),  # the page's login checks a token against these
        template_config=web.TEMPLATES,
        on_startup=[document_problems],
        request_max_body_size=config.max_body_bytes,
        openapi_config=OpenAPIConfig(title="botsettings", version=VERSION, path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
        debug=False,
        logging_config=None,  # app.logging configures the one log stream; Litestar must not add its own
    )
    # The request log around the whole handler, not as route middleware, so 404s and 405s
    # are logged too; inside it, the plain chat request served without the framework
    # (app/api/fast_chat.py); in front of it, the hot read (app/api/fast_reads.py), which
    # logs at debug only and so needs no log context.
    chat_path = FastChat(application.asgi_handler, tokens=tokens, hosts=hosts,  # type: ignore[arg-type]
                         max_body_bytes=config.max_body_bytes, metrics=RouteMetrics(PROMETHEUS, "POST", CHAT_PATH))
    application.asgi_handler = FastReads(  # type: ignore[assignment]
        RequestLog(chat_path), tokens=tokens, hosts=hosts,
        metrics=RouteMetrics(PROMETHEUS, "GET", "/v1/bots/{slug}/effective"))
    return application
