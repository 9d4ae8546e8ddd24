"""Prometheus metrics, one registry per application (so tests and several apps in one process never clash)."""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


def _multiprocess() -> bool:
    """`serve --workers N`: every worker writes its values to the supervisor's folder (see server.py)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.responses = Counter("a11y_proxy_responses_total", "Proxied responses by how they were handled",
                                 ["outcome"], registry=self.registry)
        self.upstream_errors = Counter("a11y_proxy_upstream_errors_total", "Upstream failures by kind", ["kind"],
                                       registry=self.registry)
        self.transform_seconds = Histogram(
            "a11y_proxy_transform_seconds", "Time spent in the HTML pipeline per page", registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
        self.websockets = Counter("a11y_proxy_websockets_total", "WebSocket relays by outcome (opened, refused, "
                                  "failed)", ["outcome"], registry=self.registry)
        # Gauges add up over live workers in multiprocess mode (a dead worker's values drop out).
        self.websockets_open = Gauge("a11y_proxy_websockets_open", "WebSocket relays open now", registry=self.registry,
                                     multiprocess_mode="livesum")
        self.client_timeouts = Counter(
            "a11y_proxy_client_timeouts_total", "Reader connections closed for being too slow (kind: body = a "
            "request body stalled, send = our writes left unread)", ["kind"], registry=self.registry)
        self.transform_bytes_held = Gauge("a11y_proxy_transform_bytes_held", "Bytes of HTML held for rewriting now, "
                                          "all requests together", registry=self.registry,
                                          multiprocess_mode="livesum")
        self.accept_errors = Counter("a11y_proxy_accept_errors_total", "New connections the operating system could "
                                     "not accept (out of file descriptors or memory)", registry=self.registry)
        self.cache_requests = Counter("a11y_proxy_cache_requests_total", "Transform cache look-ups by result (hit, "
                                      "miss)", ["result"], registry=self.registry)
        self.cache_evictions = Counter("a11y_proxy_cache_evictions_total", "Transform cache entries evicted to stay "
                                       "within cache.max_bytes", registry=self.registry)
        self.cache_revalidations = Counter("a11y_proxy_cache_revalidations_total", "Upstream answers to the proxy's "
                                           "own conditional requests (304: a repeat view was a cache hit)",
                                           ["status"], registry=self.registry)
        self.cache_bytes = Gauge("a11y_proxy_cache_bytes", "Bytes held by the transform cache", registry=self.registry,
                                 multiprocess_mode="livesum")
        self.rule_reloads = Counter("a11y_proxy_rule_reloads_total", "Rule reloads by result", ["result"],
                                    registry=self.registry)
        self.live_conversions = Counter("a11y_proxy_convert_requests_total", "POST /-/convert (text written by a "
                                        "page's scripts, to Traditional) by result (ok, refused, too-large, bad)",
                                        ["result"], registry=self.registry)

        self._outcomes: dict[str, object] = {}

    def response(self, outcome: str) -> None:
        """Count one proxied response by outcome.  The labelled child is looked up once per outcome (labels()
        takes a lock and builds a key each time), and only when first used, as labels() would."""
        child = self._outcomes.get(outcome)
        if child is None:
            child = self._outcomes[outcome] = self.responses.labels(outcome)
        child.inc()

    def exposition(self) -> tuple[bytes, str]:
        if _multiprocess():  # the whole server: every worker's values, summed
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
