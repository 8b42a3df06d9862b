"""The program bus limiter: the mix never clips, and adds no latency.

The mixer renders a whole tick at once, so the limiter sees the block it is about to
scale: that block is its look-ahead, and no sample is held back. Per block it finds the
gain that brings the peak to the ceiling and ramps down to it in the block's first
millisecond (fast attack, without the click of a step) or back up by `release_db_per_s`
(slow release, so speech between peaks does not pump). A peak inside that first
millisecond is caught by a soft knee that bends everything above the ceiling into the last
dB below full scale, and a final clamp keeps float rounding from reaching 0 dBFS.
"""

from __future__ import annotations

import numpy as np

from media.audio.frames import F32, SAMPLE_RATE
from media.audio.meter import db_to_gain, dbfs

ATTACK_SAMPLES = SAMPLE_RATE // 1000
FULL_SCALE = np.float32(1.0 - 2**-15)  # the largest 16-bit sample: below 0 dBFS everywhere


class Limiter:
    def __init__(self, ceiling_dbfs: float = -1.0, release_db_per_s: float = 20.0) -> None:
        self.ceiling = db_to_gain(ceiling_dbfs)
        self._release_db_per_s = release_db_per_s
        self._gain = 1.0
        self.reduction_db = 0.0  # the gain reduction at the end of the last block

    def process(self, block: F32) -> F32:
        """`block` limited (a new array); (count, channels) float32."""
        count = block.shape[0]
        if count == 0:
            return block
        peak = float(np.abs(block).max())
        wanted = min(1.0, self.ceiling / peak) if peak > 0 else 1.0
        if wanted < self._gain:
            target = wanted
        else:
            step = db_to_gain(self._release_db_per_s * count / SAMPLE_RATE)
            target = min(wanted, self._gain * step, 1.0)
        if target == self._gain == 1.0:
            out = block.copy()
        else:
            span = min(count, ATTACK_SAMPLES) if target < self._gain else count
            ramp = np.full(count, target, np.float32)
            ramp[:span] = np.linspace(self._gain, target, span, dtype=np.float32)
            out = block * ramp[:, None]
        self._gain = target
        self.reduction_db = -dbfs(target) if target < 1.0 else 0.0
        return np.clip(soft_knee(out, self.ceiling), -FULL_SCALE, FULL_SCALE)


def soft_knee(block: F32, knee: float) -> F32:
    """Samples above `knee` bent smoothly towards (never to) full scale."""
    over = np.abs(block) > knee
    if not over.any():
        return block
    room = 1.0 - knee
    magnitude = np.abs(block[over])
    bent = knee + room * np.tanh((magnitude - knee) / room)
    block = block.copy()
    block[over] = np.copysign(bent, block[over]).astype(np.float32)
    return block
