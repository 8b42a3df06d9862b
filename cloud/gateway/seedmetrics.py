"""The seed's viewer metrics (§9.1), with its names and labels exactly:

- `simulcast_quality_switches{session_id, from_quality, to_quality}` (counter)
- `simulcast_active_viewers{session_id, quality}` (gauge)
- `network_packet_loss{session_id, user_id}` (histogram of each receiver report's loss)

`session_id` and `user_id` come from ids, so both are capped (labelcap.py): at most
MAX_SESSIONS sessions and MAX_USERS users carry their own id at once, the rest are counted
under "other", and a session's or user's series go ten minutes after its last viewer (or
sooner when a new one needs the room). A user is the
participant the viewer's token names (a phone, or a viewer link's redeemer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from cloud.gateway.labelcap import IDLE_S, OTHER, LabelCap
from cloud.gateway.units import LAYERS

MAX_SESSIONS = 50
MAX_USERS = 200

LOSS_BUCKETS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0)


@dataclass(slots=True)
class ViewerLabels:
    """The label values one viewer is counted under (as the caps gave them)."""

    session: str
    user: str
    layer: str | None = None  # the layer it is counted under in simulcast_active_viewers


class ViewerMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        max_sessions: int = MAX_SESSIONS,
        max_users: int = MAX_USERS,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quality_switches = Counter(
            "simulcast_quality_switches",
            "Viewer layer switches made at an IDR",
            ["session_id", "from_quality", "to_quality"],
            registry=registry,
        )
        self.active_viewers = Gauge(
            "simulcast_active_viewers",
            "WHEP viewers by the layer they get",
            ["session_id", "quality"],
            registry=registry,
        )
        self.packet_loss = Histogram(
            "network_packet_loss",
            "Fraction of packets lost, per viewer receiver report",
            ["session_id", "user_id"],
            registry=registry,
            buckets=LOSS_BUCKETS,
        )
        self._sessions = LabelCap(max_sessions, self._forget_session, idle_s, clock)
        self._users = LabelCap(max_users, self._forget_user, idle_s, clock)
        self._user_session: dict[str, str] = {}  # user label -> its session label

    def joined(self, session_id: str, user_id: str) -> ViewerLabels:
        session = self._sessions.hold(session_id)
        user = self._users.hold(user_id)
        if user != OTHER:
            self._user_session[user] = session
        return ViewerLabels(session, user)

    def switched(self, labels: ViewerLabels, old: str, new: str) -> None:
        self.quality_switches.labels(labels.session, old, new).inc()

    def counted(self, labels: ViewerLabels, layer: str | None) -> None:
        """The viewer now gets `layer` (None: none, it left)."""
        if labels.layer is not None:
            self.active_viewers.labels(labels.session, labels.layer).dec()
        labels.layer = layer
        if layer is not None:
            self.active_viewers.labels(labels.session, layer).inc()

    def loss(self, labels: ViewerLabels, fraction: float) -> None:
        self.packet_loss.labels(labels.session, labels.user).observe(fraction)

    def left(self, labels: ViewerLabels) -> None:
        self.counted(labels, None)
        self._users.release(labels.user)
        self._sessions.release(labels.session)

    def _forget_user(self, user: str) -> None:
        session = self._user_session.pop(user, None)
        if session is not None:
            _remove(self.packet_loss, session, user)

    def _forget_session(self, session: str) -> None:
        _remove(self.packet_loss, session, OTHER)
        for layer in LAYERS:
            _remove(self.active_viewers, session, layer)
            for other in LAYERS:
                _remove(self.quality_switches, session, layer, other)


def _remove(metric: Counter | Gauge | Histogram, *values: str) -> None:
    with suppress(KeyError):  # a series that never had a sample
        metric.remove(*values)
