"""Prometheus metrics. Counters are recorded where things happen (the service); gauges
are read from the runtime at scrape time. Metrics are per process: scrape every
replica (one worker per container is the recommended layout, see deploy/README.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from app.runtime import Runtime

CHANGES = Counter("botsettings_changes_total", "Changes requested, by source and outcome",
                  ["source", "outcome"])  # outcome: applied | noop
CHANGE_SECONDS = Histogram("botsettings_change_duration_seconds", "Time to commit a change (validation to commit)",
                           buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

# The scheduler (app/scheduler).
JOB_RUNS = Counter("botsettings_job_runs_total", "Job runs finished, by job and status", ["job", "status"])
REPLIES_DROPPED = Counter("botsettings_replies_dropped_total", "Reply log records dropped (queue full or a "
                          "failed batch write)")
SCHEDULER_LEADER = Gauge("botsettings_scheduler_leader", "1 while this process is the scheduler leader")
SCHEDULED_CHANGES = Counter("botsettings_scheduled_changes_total", "Scheduled changes settled, by outcome",
                            ["outcome"])  # applied | failed
PROJECTION_DRIFT = Gauge("botsettings_projection_drift", "Problems the last projection check found "
                         "(drifted keys + log problems; 0 = the projection equals a replay of the log)")


class RuntimeCollector(Collector):
    """Gauges of one runtime: head, listener state and lag, cache size."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        resolver, listener = self.runtime.resolver, self.runtime.listener
        yield GaugeMetricFamily("botsettings_head_revision", "Revision applied to this process's state",
                                value=resolver.revision)
        yield GaugeMetricFamily("botsettings_known_bots", "Bots known (bots.yaml ∪ database)",
                                value=len(resolver.known_bots()))
        yield GaugeMetricFamily("botsettings_snapshot_cache_entries", "Cached per-bot snapshots",
                                value=resolver.cache_size)
        yield GaugeMetricFamily("botsettings_state_stale", "1 while values may be stale (listener down)",
                                value=int(resolver.stale))
        if listener is not None:
            yield GaugeMetricFamily("botsettings_listener_connected", "1 while the LISTEN connection is up",
                                    value=int(listener.connected))
            yield GaugeMetricFamily("botsettings_listener_lag_revisions",
                                    "Revisions notified but not yet applied", value=listener.lag)
            yield CounterMetricFamily("botsettings_listener_reconnects", "LISTEN reconnects",
                                      value=listener.reconnects)


def register(runtime: Runtime) -> RuntimeCollector:
    collector = RuntimeCollector(runtime)
    REGISTRY.register(collector)
    return collector


def unregister(collector: RuntimeCollector) -> None:
    REGISTRY.unregister(collector)
