"""Noticing that the laptop slept: every link should reconnect at once after a wake.

During a suspend Linux stops `time.monotonic()` while the wall clock runs on; macOS and
Windows let monotonic time jump instead, and the loop's sleeps come back late. Either way
a backoff timer or a heartbeat deadline set before the suspend means nothing after it:
connections are dead while their timers say they are fine. A tick every second compares
both clocks with the tick it asked for; a gap of more than `threshold_s` is a wake.

A wall clock stepped by NTP looks the same and costs one early reconnect of every link,
which is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class WakeWatch:
    def __init__(
        self,
        on_wake: Callable[[float], None],
        *,
        tick_s: float = 1.0,
        threshold_s: float = 5.0,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._on_wake = on_wake
        self._tick = tick_s
        self._threshold = threshold_s
        self._wall = wall
        self._mono = mono
        self._sleep = sleep
        self.wakes = 0

    async def run(self) -> None:
        wall, mono = self._wall(), self._mono()
        while True:
            await self._sleep(self._tick)
            now_wall, now_mono = self._wall(), self._mono()
            # Missing time: what either clock moved beyond the tick we slept.
            gap = max(now_wall - wall, now_mono - mono) - self._tick
            wall, mono = now_wall, now_mono
            if gap > self._threshold:
                self.wakes += 1
                log.info("woke after about %.0f s away: reconnecting every link now", gap)
                self._on_wake(gap)
