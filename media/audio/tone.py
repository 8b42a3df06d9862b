"""A test tone: a sine at a set level, a pure function of the sample position."""

from __future__ import annotations

import numpy as np

from media.audio.frames import CHANNELS, F32, SAMPLE_RATE
from media.audio.meter import db_to_gain
from media.audio.source import AudioState, AudioStatus


class ToneSource:
    def __init__(
        self,
        name: str = "tone",
        *,
        frequency: float = 1000.0,
        level_dbfs: float = -20.0,
        channels: int = CHANNELS,
    ) -> None:
        self.name = name
        self.frequency = frequency
        self.amplitude = db_to_gain(level_dbfs)  # peak, so a full-scale sine reads 0 dBFS
        self.channels = channels

    @property
    def status(self) -> AudioStatus:
        return AudioStatus(AudioState.LIVE, sample_rate=SAMPLE_RATE, channels=self.channels)

    def start(self) -> None:
        """Nothing to start; there for the AudioSource shape."""

    def stop(self) -> None:
        """Nothing to stop."""

    def read(self, sample_pts: int, count: int) -> F32:
        # Phase from the absolute position, reduced modulo one period first so it
        # stays exact however long the show runs.
        k = np.arange(sample_pts, sample_pts + count, dtype=np.float64)
        phase = np.mod(k * self.frequency, SAMPLE_RATE) / SAMPLE_RATE
        mono = (self.amplitude * np.sin(2 * np.pi * phase)).astype(np.float32)
        return np.repeat(mono[:, None], self.channels, axis=1)
