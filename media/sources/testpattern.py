"""The test / clock source: a moving pattern with its name and a capture stamp, and tone.

Bars and tone, as broadcast line-up has it: each test source carries a sine at -20 dBFS
as its own sound, so a switcher of test sources has program audio that follows the cuts
(each source at its own pitch, so a listener and a test can tell which one is on air).
"""

from __future__ import annotations

import time
from fractions import Fraction

from media.audio.tone import ToneSource
from media.frames import Frame, Size
from media.pattern import PatternRenderer
from media.sources.base import DEFAULT_SIZE, RetryPolicy, ThreadedSource
from media.stamp import now_ms


class TestPatternSource(ThreadedSource):
    """Frames at `fps` on a deadline schedule, each stamped with its capture time."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self,
        name: str,
        *,
        size: Size = DEFAULT_SIZE,
        fps: Fraction | int = 60,
        stamp: bool = True,
        grain: bool = False,
        tone_hz: float = 1000.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name, size=size, retry=retry)
        # The source's sound (None: silent); a pure function of the program's sample clock.
        self.audio = ToneSource(name, frequency=tone_hz, level_dbfs=-20.0) if tone_hz else None
        self.fps = Fraction(fps)
        self._stamp = stamp
        self._grain = grain  # moving noise: hard content, the encoder at its real rate
        self._renderer: PatternRenderer | None = None
        self._t0 = 0.0
        self._index = 0

    def _open(self) -> None:
        self._renderer = PatternRenderer(self.name, self.size, stamp=self._stamp, grain=self._grain)
        self._t0 = time.monotonic()
        self._index = 0

    def _read(self) -> Frame | None:
        assert self._renderer is not None
        due = self._t0 + float(self._index / self.fps)
        remaining = due - time.monotonic()
        if remaining > 0 and self._stopping.wait(remaining):
            return None
        frame = self._renderer.render(self._index, now_ms())
        # Behind by more than a frame (a stalled machine): skip ahead, never burst.
        behind = int((time.monotonic() - self._t0) * self.fps)
        self._index = max(self._index + 1, behind)
        return frame

    def _close(self) -> None:
        self._renderer = None
