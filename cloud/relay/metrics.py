"""The relay's Prometheus metrics, in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.clients = Gauge(
            "returnfeed_relay_clients",
            "Connected relay clients by role",
            ["role"],
            registry=registry,
        )
        self.closed = Counter(
            "returnfeed_relay_closed_total",
            "Relay connections the server closed, by close code",
            ["code"],
            registry=registry,
        )
        self.broadcasts = Counter(
            "returnfeed_relay_broadcasts_total",
            "Tally updates fanned out to a room (each encoded once)",
            registry=registry,
        )
        self.keyframes_throttled = Counter(
            "returnfeed_relay_keyframe_requests_throttled_total",
            "Viewers' keyframe requests not passed on: one per layer per 0.5 s reaches the "
            "director",
            registry=registry,
        )
        self.broker_up = Gauge(
            "returnfeed_relay_broker_up",
            "1 while the relay's broker (Redis) is reachable",
            registry=registry,
        )
        self.broker_up.set(1)
