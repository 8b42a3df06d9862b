"""Peak and RMS in dBFS over 100 ms (sine peak 0 dBFS = full scale), and short-term loudness."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from media.audio.frames import F32, SAMPLE_RATE
from media.audio.loudness import LoudnessMeter

MIN_DBFS = -120.0


def dbfs(linear: float) -> float:
    return MIN_DBFS if linear <= 10 ** (MIN_DBFS / 20) else 20 * math.log10(linear)


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


@dataclass(frozen=True, slots=True)
class MeterReading:
    peak_dbfs: tuple[float, ...]  # per channel
    rms_dbfs: tuple[float, ...]
    loudness_lufs: float  # EBU R128 short-term (3 s), all channels together


class LevelMeter:
    """Written by the audio thread, read by any thread (the UI at its own rate)."""

    def __init__(self, channels: int = 2, window: int = SAMPLE_RATE // 10) -> None:
        # 100 ms: short enough to follow speech, a whole number of 1 kHz periods.
        self._ring = np.zeros((window, channels), np.float32)
        self._pos = 0
        self._lock = threading.Lock()
        self._loudness = LoudnessMeter()

    def update(self, block: F32) -> None:
        window = self._ring.shape[0]
        block = block[-window:]
        n = block.shape[0]
        with self._lock:
            first = min(n, window - self._pos)
            self._ring[self._pos : self._pos + first] = block[:first]
            self._ring[: n - first] = block[first:]
            self._pos = (self._pos + n) % window
        self._loudness.update(block)

    def reading(self) -> MeterReading:
        with self._lock:
            ring = self._ring.astype(np.float64)
        peak = np.abs(ring).max(axis=0)
        rms = np.sqrt(np.mean(ring * ring, axis=0))
        return MeterReading(
            tuple(dbfs(float(p)) for p in peak),
            tuple(dbfs(float(r)) for r in rms),
            self._loudness.lufs(),
        )
