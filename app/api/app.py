"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from app import metrics
from app.api import bots, errors, health, jobs, settings, watch
from app.config import Config
from app.logging import configure_logging
from app.runtime import Runtime
from app.scheduler.service import JobsService
from app.service import SettingsService

# Requests by route template, method and status; health probes and scrapes excluded.
PROMETHEUS = PrometheusConfig(app_name="botsettings", prefix="botsettings", group_path=True,
                              exclude=["^/metrics", "^/healthz", "^/readyz"])


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
        try:
            yield
        finally:
            metrics.unregister(collector)
            if own:
                await app.state.runtime.close()

    def provide_service(state: State) -> SettingsService:
        return state.runtime.service  # type: ignore[no-any-return]

    def provide_jobs(state: State) -> JobsService:
        return state.runtime.jobs  # type: ignore[no-any-return]

    return Litestar(
        route_handlers=[*health.HANDLERS, *settings.HANDLERS, *bots.HANDLERS, *watch.HANDLERS, *jobs.HANDLERS,
                        PrometheusController],
        middleware=[PROMETHEUS.middleware],
        dependencies={"service": Provide(provide_service, sync_to_thread=False),
                      "jobs": Provide(provide_jobs, sync_to_thread=False)},
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        request_max_body_size=config.max_body_bytes,
        openapi_config=OpenAPIConfig(title="botsettings", version="0.1.0", path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
        debug=False,
    )
