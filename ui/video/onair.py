"""The multiview's clock and the current program source's time on air.

Both read an injectable `Clocks`, so tests move time by hand instead of sleeping. The
on-air time starts when the program bus settles on a new source (a cut, or a mix or
T-bar take completing: the engine's ProgramChanged), as a hardware switcher counts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Clocks:
    wall: Callable[[], float] = time.time  # the time of day, from the system clock
    monotonic: Callable[[], float] = time.monotonic  # durations: never jumps with NTP


@dataclass
class OnAirTimer:
    clocks: Clocks = field(default_factory=Clocks)
    source: str | None = None
    since: float = 0.0  # monotonic time the source went on air

    def program(self, source: str | None) -> None:
        """The program bus is now `source`; the count restarts only when it changed."""
        if source != self.source:
            self.source, self.since = source, self.clocks.monotonic()

    def seconds(self) -> float:
        return 0.0 if self.source is None else max(0.0, self.clocks.monotonic() - self.since)


def time_of_day(clocks: Clocks) -> str:
    return time.strftime("%H:%M:%S", time.localtime(clocks.wall()))


def duration(seconds: float) -> str:
    """H:MM:SS, whole seconds, so the count reads like a hardware switcher's."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
