"""Bounded label values for the seed's per-session and per-user metrics.

Prometheus keeps one series per label combination for as long as the process lives, so a
label fed from ids (sessions, users) grows without end on a busy backend. A LabelCap admits
at most `limit` values at a time and counts any beyond them under OTHER. A value is held
while a viewer uses it; when its last viewer goes it stays idle for `idle_s`, long enough
for the scraper to read its last samples, and is then evicted (the owner removes its
series). An idle value also makes room at once when a new one needs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

OTHER = "other"
IDLE_S = 600.0  # several scrape intervals: the last switches of a show are not lost


class LabelCap:
    """Live values of one label, at most `limit` at a time (OTHER for the rest)."""

    def __init__(
        self,
        limit: int,
        on_evict: Callable[[str], None],
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("a label cap needs room for at least one value")
        self.limit = limit
        self._on_evict = on_evict
        self._idle_s = idle_s
        self._clock = clock
        self._held: dict[str, int] = {}  # value -> how many holders
        self._idle: dict[str, float] = {}  # value -> when its last holder went (oldest first)

    def hold(self, value: str) -> str:
        """The label to use for `value`: itself while there is room, OTHER beyond it."""
        self._expire()
        if value in self._held:
            self._held[value] += 1
            return value
        if self._idle.pop(value, None) is None and len(self) >= self.limit:
            if not self._idle:
                return OTHER
            self._evict(next(iter(self._idle)))
        self._held[value] = 1
        return value

    def release(self, label: str) -> None:
        """One holder of `label` (as `hold` returned it) is gone."""
        count = self._held.get(label)
        if count is not None:  # not OTHER, which is never evicted
            if count > 1:
                self._held[label] = count - 1
            else:
                del self._held[label]
                self._idle[label] = self._clock()
        self._expire()

    def __len__(self) -> int:
        return len(self._held) + len(self._idle)

    def _expire(self) -> None:
        now = self._clock()
        for value, since in list(self._idle.items()):
            if now - since < self._idle_s:
                break  # oldest first: the rest are younger
            self._evict(value)

    def _evict(self, value: str) -> None:
        del self._idle[value]
        self._on_evict(value)
