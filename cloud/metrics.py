"""Prometheus metrics, kept in a registry per app so that tests can run several apps."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "returnfeed_http_requests_total",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "returnfeed_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.db_up = Gauge(
            "returnfeed_database_up",
            "1 if the last health check reached the database",
            registry=self.registry,
        )
        # Set by every readiness check: each /api/health, and each scrape of /metrics.
        self.ready = Gauge(
            "returnfeed_ready",
            "1 if the last readiness check found this process ready (/api/health answered 200)",
            registry=self.registry,
        )
        self.ready_part = Gauge(
            "returnfeed_ready_part",
            "1 if the part passed the last readiness check, 0 if it failed; a part that is "
            "off (SRT with --no-srt, Redis without --redis-url) has no sample",
            ["part"],  # database, redis, srt, gateway: nothing else, so the set stays small
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "returnfeed_auth_failures_total",
            "Refused credentials by reason",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            # The template, not the raw path: ids in paths would explode the label set.
            template = getattr(route, "path", "unmatched")
            self._metrics.requests.labels(scope["method"], template, str(status)).inc()
            self._metrics.latency.labels(template).observe(time.perf_counter() - started)
