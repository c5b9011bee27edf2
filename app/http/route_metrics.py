"""Request metrics of a route answered below the framework (app/api/fast_chat.py),
under the names and labels the framework's Prometheus middleware gives every other
request: ``botsettings_requests_total``, ``…_request_duration_seconds``,
``…_requests_in_progress`` and ``…_requests_error_total``, labelled by method, route
template, status and app name. The metric objects are the middleware's own (it keeps
them in one registry per process), so a scrape shows one series whichever path
answered; their children are looked up once per status, not per request."""

from __future__ import annotations

from typing import Any

from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware


async def _unused(scope: Any, receive: Any, send: Any) -> None:  # the middleware wraps no app here
    raise NotImplementedError


class RouteMetrics:
    def __init__(self, config: PrometheusConfig, method: str, path: str) -> None:
        self._middleware = PrometheusMiddleware(_unused, config)
        self._labels: dict[str, str | int | float] = {"method": method, "path": path, "status_code": 200,
                                                      "app_name": config.app_name}
        self._by_status: dict[int, tuple[Any, Any, Any | None]] = {}
        self._progress: Any = None

    def started(self) -> None:
        if self._progress is None:  # the framework's middleware labels a request in progress as 200
            self._progress = self._middleware.requests_in_progress(self._labels).labels(*self._labels.values())
        self._progress.inc()

    def finished(self, status: int, seconds: float) -> None:
        self._progress.dec()
        children = self._by_status.get(status)
        if children is None:
            labels = {**self._labels, "status_code": status}
            values = [*labels.values()]
            children = self._by_status[status] = (
                self._middleware.request_count(labels).labels(*values),
                self._middleware.request_time(labels).labels(*values),
                self._middleware.requests_error_count(labels).labels(*values) if status >= 500 else None)
        count, duration, errors = children
        count.inc()
        duration.observe(seconds)
        if errors is not None:
            errors.inc()
