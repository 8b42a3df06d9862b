"""What the backend's SRT ingest could not repair, on the director's health board.

The sender sees its own link (RTT, loss, the latency it chose), not what arrived too late to
play at the far end: a packet the ingest never recovered is a broken picture for every
viewer until the next keyframe. The backend counts those per layer
(`GET /api/sessions/{id}/srt/health`); each poll compares them with the last, and a layer
that lost packets for good says so, with the one remedy (more SRT latency), until a minute
has passed without another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from .cloud_api import LayerDamage
from .health import HealthBoard

CLEAR_AFTER_S = 60.0


class DamageWatch:
    def __init__(self, health: HealthBoard, clock: Callable[[], float] = time.monotonic) -> None:
        self._health = health
        self._clock = clock
        self._last: dict[str, LayerDamage] = {}
        self._bad: dict[str, tuple[float, int]] = {}  # layer -> (last damage at, packets)

    def seen(self, layers: Mapping[str, LayerDamage]) -> None:
        now = self._clock()
        for layer, totals in layers.items():
            before = self._last.get(layer)
            self._last[layer] = totals
            # The first read holds whatever the backend saw before this Go Live.
            new = 0 if before is None else totals.unrecovered - before.unrecovered
            if new < 0:  # the backend restarted: its counters did too
                new = totals.unrecovered
            link = f"stream {layer} damage"
            if new > 0:
                _, packets = self._bad.get(layer, (now, 0))
                self._bad[layer] = (now, packets + new)
                detail = (
                    f"{layer}: {packets + new} packets arrived too late to play at the backend:"
                    " raise the SRT latency"
                )
                self._health.down(link, detail)
            elif layer in self._bad and now - self._bad[layer][0] >= CLEAR_AFTER_S:
                del self._bad[layer]
                self._health.up(link)

    def reset(self) -> None:
        """A new stream: nothing to compare with yet (the board is cleared by its owner)."""
        self._last.clear()
        self._bad.clear()
