"""Where the engine reads "now" in program ticks: the clock when there is one, a counter in tests.

The engine stamps each take with the first tick a change made now can still affect, so
a cut lands on a whole frame and a mix of N frames is exactly N ticks long.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Protocol

from media.clock import ProgramClock


class Timebase(Protocol):
    @property
    def fps(self) -> Fraction: ...

    def now_pts(self) -> int:
        """The first tick not yet composed: the earliest a change made now can affect."""
        ...


class ClockTimebase:
    def __init__(self, clock: ProgramClock) -> None:
        self._clock = clock

    @property
    def fps(self) -> Fraction:
        return self._clock.config.fps

    def now_pts(self) -> int:
        return self._clock.pts_at(time.monotonic())


class ManualTimebase:
    """A tick counter that moves only when told to: engine tests step it frame by frame."""

    def __init__(self, fps: Fraction | int = 60, pts: int = 0) -> None:
        self._fps = Fraction(fps)
        self.pts = pts

    @property
    def fps(self) -> Fraction:
        return self._fps

    def now_pts(self) -> int:
        return self.pts

    def advance(self, frames: int = 1) -> int:
        self.pts += frames
        return self.pts


def seconds_until(timebase: Timebase, pts: int) -> float:
    """Roughly how long until tick `pts` is composed; callers re-check when woken."""
    return max(0.0, (pts - timebase.now_pts()) / float(timebase.fps))
