"""Rolling counters for stats: frame rate and bitrate over a short window, encode-time
percentiles over a longer one. Written by one thread, read by any (under a lock)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RateReading:
    fps: float
    kbps: float
    p50_ms: float
    p99_ms: float


class RateMeter:
    def __init__(self, span_s: float = 2.0, latency_samples: int = 600) -> None:
        self._span = span_s
        self._events: deque[tuple[float, int, bool]] = deque()  # (monotonic time, bytes, frame)
        self._latency: deque[float] = deque(maxlen=latency_samples)
        self._lock = threading.Lock()
        self.count = 0
        self.total_bytes = 0

    def add(self, now: float, nbytes: int, latency_ms: float | None = None) -> None:
        """One frame of `nbytes`, which took `latency_ms` to make."""
        with self._lock:
            self._events.append((now, nbytes, True))
            self._trim(now)
            if latency_ms is not None:
                self._latency.append(latency_ms)
            self.count += 1
            self.total_bytes += nbytes

    def add_bytes(self, now: float, nbytes: int) -> None:
        """Bytes that are not a frame (audio between pictures): bitrate only."""
        with self._lock:
            self._events.append((now, nbytes, False))
            self._trim(now)
            self.total_bytes += nbytes

    def reading(self, now: float) -> RateReading:
        with self._lock:
            self._trim(now)
            events = list(self._events)
            latency = np.fromiter(self._latency, np.float64, len(self._latency))
        fps = kbps = 0.0
        if events:
            # Over the whole span once it has filled; at start-up over what there is.
            span = max(min(self._span, now - events[0][0]), 1e-3)
            frames = sum(1 for _, _, frame in events if frame)
            fps = frames / span if frames > 1 else 0.0
            kbps = sum(n for _, n, _ in events) * 8 / span / 1000
        p50 = p99 = 0.0
        if latency.size:
            p50, p99 = (float(v) for v in np.percentile(latency, (50, 99)))
        return RateReading(fps, kbps, p50, p99)

    def _trim(self, now: float) -> None:
        while self._events and self._events[0][0] < now - self._span:
            self._events.popleft()
