"""Peak and RMS in dBFS over 100 ms (sine peak 0 dBFS = full scale), and short-term loudness.

The audio thread reduces each block once, as it arrives (its peak and energy per
channel); a reading only combines the last 100 ms of those, so the UI's poll costs
nothing however many channels there are.
"""

from __future__ import annotations

import math
import threading
from collections import deque
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
        self.channels = channels
        self._window = window
        self._blocks: deque[tuple[int, np.ndarray, np.ndarray]] = deque()  # (n, peak, energy)
        self._samples = 0
        self._lock = threading.Lock()
        self._loudness = LoudnessMeter()

    def update(self, block: F32) -> None:
        n = block.shape[0]
        if n == 0:
            return
        peak = np.abs(block).max(axis=0)
        energy = np.einsum("ij,ij->j", block, block, dtype=np.float64)
        with self._lock:
            self._blocks.append((n, peak, energy))
            self._samples += n
            while self._samples - self._blocks[0][0] >= self._window:
                self._samples -= self._blocks.popleft()[0]
        self._loudness.update(block)

    def reading(self) -> MeterReading:
        with self._lock:
            blocks = list(self._blocks)
        if not blocks:
            silent = (MIN_DBFS,) * self.channels
            return MeterReading(silent, silent, self._loudness.lufs())
        # The window as blocks arrived: at most a block longer than 100 ms, never shorter.
        count = sum(b[0] for b in blocks)
        peak = np.max([b[1] for b in blocks], axis=0)
        rms = np.sqrt(np.sum([b[2] for b in blocks], axis=0) / count)
        return MeterReading(
            tuple(dbfs(float(p)) for p in peak),
            tuple(dbfs(float(r)) for r in rms),
            self._loudness.lufs(),
        )
