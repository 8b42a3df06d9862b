"""Any input's samples to the program's format: 48 kHz, stereo, float32, (n, 2).

Channels are picked, not downmixed: an input of one channel is heard on both sides, and
of more than two (an 8-channel NDI feed, a multitrack interface) channels 1-2 carry the
programme by convention while the rest are discrete tracks a downmix would pile onto it.
The rate is converted with libswresample through PyAV, which keeps its filter state
across blocks, so a stream converted block by block has no seams.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from media.audio.frames import CHANNELS, F32, SAMPLE_RATE

MAX_RATE = 384_000


class BadAudioFormat(ValueError):
    """Samples this converter cannot take (no channels, a rate of 0, the wrong shape)."""


def pick_channels(block: F32, channels: int = CHANNELS) -> F32:
    """(n, k) to (n, channels): mono repeated, extra channels left out."""
    k = block.shape[1]
    if k == channels:
        return block
    if k == 1:
        return np.repeat(block, channels, axis=1)
    if k > channels:
        return np.ascontiguousarray(block[:, :channels])
    return np.hstack([block, np.repeat(block[:, -1:], channels - k, axis=1)])


class ToProgram:
    """Converts one input's stream; keep one per input (the resampler has state)."""

    def __init__(self, rate: int) -> None:
        if not 0 < rate <= MAX_RATE:
            raise BadAudioFormat(f"sample rate {rate} Hz is not one an input can have")
        self.rate = rate
        self._resampler = (
            None
            if rate == SAMPLE_RATE
            else av.AudioResampler(format="flt", layout="stereo", rate=SAMPLE_RATE)
        )
        self._pts = 0

    def __call__(self, block: F32) -> F32:
        """Interleaved (n, channels) float32 at `rate` to (m, 2) at 48 kHz."""
        if block.ndim != 2 or block.shape[1] < 1:
            raise BadAudioFormat(f"audio must be (samples, channels), got {block.shape}")
        stereo = pick_channels(np.asarray(block, np.float32))
        if self._resampler is None or stereo.shape[0] == 0:
            return np.ascontiguousarray(stereo)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(stereo).reshape(1, -1), format="flt", layout="stereo"
        )
        frame.sample_rate = self.rate
        frame.pts = self._pts
        frame.time_base = Fraction(1, self.rate)
        self._pts += stereo.shape[0]
        parts = [f.to_ndarray().reshape(-1, CHANNELS) for f in self._resampler.resample(frame)]
        if not parts:
            return np.zeros((0, CHANNELS), np.float32)
        return np.ascontiguousarray(np.vstack(parts), np.float32)
