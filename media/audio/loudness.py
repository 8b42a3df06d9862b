"""Short-term loudness (EBU R128 / ITU-R BS.1770): K-weighted power over the last 3 s.

K-weighting is applied in the frequency domain, one mixer block at a time: the block's
power spectrum times BS.1770's two-stage filter response (the 48 kHz biquads' magnitude),
summed (Parseval). That treats each block as periodic, which shifts the reading by a
fraction of a dB against a time-domain filter for programme material; a meter for the
director, not a compliance measurement, and it needs no per-sample Python loop.
"""

from __future__ import annotations

import math
import threading
from collections import deque

import numpy as np

from media.audio.frames import F32, SAMPLE_RATE

SHORT_TERM_S = 3.0
MIN_LUFS = -70.0  # BS.1770's absolute gate: below it a reading says "silence"

# BS.1770-4 Table 1 and 2, at 48 kHz: the head's shelf, then the RLB high-pass.
_SHELF = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285),
    (-1.69065929318241, 0.73248077421585),
)
_HIGHPASS = ((1.0, -2.0, 1.0), (-1.99004745483398, 0.99007225036621))


def _response(count: int) -> np.ndarray:
    """|H|^2 of the K filter at the rfft bins of a `count`-sample block."""
    w = 2 * np.pi * np.fft.rfftfreq(count, 1 / SAMPLE_RATE) / SAMPLE_RATE
    z = np.exp(-1j * w)
    power = np.ones_like(w)
    for (b0, b1, b2), (a1, a2) in (_SHELF, _HIGHPASS):
        h = (b0 + b1 * z + b2 * z * z) / (1 + a1 * z + a2 * z * z)
        power = power * np.abs(h) ** 2
    return power


class LoudnessMeter:
    """Fed by the audio thread one block at a time; read by any thread."""

    def __init__(self, window_s: float = SHORT_TERM_S) -> None:
        self._window = int(window_s * SAMPLE_RATE)
        self._blocks: deque[tuple[int, float]] = deque()  # (samples, K-weighted energy)
        self._samples = 0
        self._energy = 0.0
        self._weights: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def update(self, block: F32) -> None:
        count = block.shape[0]
        if count == 0:
            return
        weights = self._weights.get(count)
        if weights is None:
            weights = self._weights[count] = _response(count)
        spectrum = np.abs(np.fft.rfft(block, axis=0)) ** 2
        # Parseval for rfft: the bins between DC and Nyquist stand for two.
        double = np.full(spectrum.shape[0], 2.0)
        double[0] = 1.0
        if count % 2 == 0:
            double[-1] = 1.0
        energy = float(((spectrum * (weights * double)[:, None]).sum()) / count)
        with self._lock:
            self._blocks.append((count, energy))
            self._samples += count
            self._energy += energy
            while self._samples - self._blocks[0][0] >= self._window:
                n, e = self._blocks.popleft()
                self._samples -= n
                self._energy -= e

    def lufs(self) -> float:
        """Short-term loudness in LUFS (channels weighted 1, as for L/R); MIN_LUFS at most quiet."""
        with self._lock:
            samples, energy = self._samples, self._energy
        if samples == 0 or energy <= 0:
            return MIN_LUFS
        return max(MIN_LUFS, -0.691 + 10 * math.log10(energy / samples))
