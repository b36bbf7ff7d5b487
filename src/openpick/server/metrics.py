"""Prometheus metrics: requests, tokens, latency, time to first token, errors, loaded models.

Each app has its own registry (several apps in one process, as in tests, do not collide).
Model labels only ever carry names the server knows, never raw request text, so a caller
cannot grow the label set.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from openpick.engines.pool import ModelPool

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _PoolCollector:
    """Loaded models and their estimated bytes, read from the pool at scrape time."""

    def __init__(self, pool: ModelPool):
        self.pool = pool

    def collect(self):
        loaded = self.pool.loaded()
        count = GaugeMetricFamily("openpick_loaded_models", "Models loaded in the pool")
        count.add_metric([], len(loaded))
        size = GaugeMetricFamily("openpick_loaded_model_bytes", "Bytes each loaded model holds "
                                 "(its worker's RSS for native models)", labels=["model"])
        for key, nbytes in loaded:
            size.add_metric([key], nbytes)
        budget = GaugeMetricFamily("openpick_memory_budget_bytes", "The pool's memory budget")
        budget.add_metric([], self.pool.budget)
        restarts = GaugeMetricFamily("openpick_worker_restarts",
                                     "Dead worker processes replaced since the model loaded",
                                     labels=["model"])
        for w in self.pool.workers():
            restarts.add_metric([w["model"]], w["restarts"])
        return [count, size, budget, restarts]


class Metrics:
    def __init__(self, pool: ModelPool):
        r = self.registry = CollectorRegistry()
        self.requests = Counter("openpick_requests", "API requests answered",
                                ["endpoint", "model", "status"], registry=r)
        self.tokens = Counter("openpick_tokens", "Tokens processed", ["model", "kind"],
                              registry=r)
        self.latency = Histogram("openpick_request_duration_seconds",
                                 "Time from request to last byte", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("openpick_time_to_first_token_seconds",
                              "Time from request to the first generated text", ["model"],
                              buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("openpick_errors", "API requests that ended in an error",
                              ["endpoint", "type"], registry=r)
        self.fallbacks = Counter("openpick_route_fallbacks",
                                 "Times a route moved past a failing model", ["route", "model"],
                                 registry=r)
        self.active = Gauge("openpick_active_requests", "Requests generating now", registry=r)
        r.register(_PoolCollector(pool))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
