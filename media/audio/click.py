"""A lip-sync test sound: silence, and a short click once a second.

Alone, a click starts at every whole second of program audio (sample 0, 48000, ...): a
pure function of the sample position, like the tone. Paired with a
`media.sources.syncflash.SyncFlashSource`, a click starts at the first sample of exactly
the tick whose picture was the flash: the clock composes a tick's picture and then mixes
its audio, on one thread, so the click asks the flash source whether that thread was just
served the white frame. Picture and sound then carry the same instant to the sample.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from media.audio.frames import CHANNELS, F32, SAMPLE_RATE
from media.audio.meter import db_to_gain
from media.audio.source import AudioState, AudioStatus

CLICK_S = 0.005  # 5 ms: short enough to place, long enough to survive Opus
CLICK_HZ = 2000.0
RAMP_S = 0.0005  # raised-cosine edges: a sharp onset without a broadband splat


class Flash(Protocol):
    def take_flash(self) -> bool: ...


def click_wave(level_dbfs: float = -6.0) -> F32:
    """The click's samples (mono), from its first one."""
    n = round(CLICK_S * SAMPLE_RATE)
    k = np.arange(n, dtype=np.float64)
    wave = np.sin(2 * np.pi * CLICK_HZ * k / SAMPLE_RATE)
    ramp = round(RAMP_S * SAMPLE_RATE)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    wave[:ramp] *= edge
    wave[n - ramp :] *= edge[::-1]
    return (db_to_gain(level_dbfs) * wave).astype(np.float32)


class ClickSource:
    def __init__(
        self,
        name: str = "click",
        *,
        flash: Flash | None = None,
        period_s: float = 1.0,
        level_dbfs: float = -6.0,
        channels: int = CHANNELS,
    ) -> None:
        self.name = name
        self.channels = channels
        self._flash = flash
        self._period = round(period_s * SAMPLE_RATE)
        self._wave = click_wave(level_dbfs)
        self._started_at: int | None = None  # the last click's first sample (with a flash)
        self.clicks: list[int] = []  # first samples of the clicks started, newest last

    @property
    def status(self) -> AudioStatus:
        return AudioStatus(AudioState.LIVE, sample_rate=SAMPLE_RATE, channels=self.channels)

    def start(self) -> None:
        """Nothing to start; there for the AudioSource shape."""

    def stop(self) -> None:
        """Nothing to stop."""

    def read(self, sample_pts: int, count: int) -> F32:
        mono = np.zeros(count, np.float32)
        if self._flash is None:
            # The click of the second this block starts in, and the next if it starts inside.
            first = (sample_pts // self._period) * self._period
            starts = list(range(first, sample_pts + count, self._period))
            self._note(*(s for s in starts if s >= sample_pts))
        else:
            if self._flash.take_flash():
                self._started_at = sample_pts
                self._note(sample_pts)
            starts = [] if self._started_at is None else [self._started_at]
        n = self._wave.shape[0]
        for start in starts:
            lo, hi = max(start, sample_pts), min(start + n, sample_pts + count)
            if lo < hi:
                mono[lo - sample_pts : hi - sample_pts] = self._wave[lo - start : hi - start]
        return np.repeat(mono[:, None], self.channels, axis=1)

    def _note(self, *starts: int) -> None:
        if starts:
            self.clicks = [*self.clicks, *starts][-64:]
