"""A bounded sample ring between a capture thread and the mixer, with a small jitter buffer.

Inputs deliver in bursts of their own size (PortAudio blocks, NDI frames of 1600 samples),
the mixer takes one tick (800 samples at 60 fps). After the ring runs dry it waits until
`prime` samples are buffered before it plays again, so a bursty input does not stutter
block by block. The input's clock and the program clock drift apart slowly, so the ring is
bounded: on overflow the oldest samples go, on underflow the gap is silence; both counted.
"""

from __future__ import annotations

import threading

import numpy as np

from media.audio.frames import CHANNELS, F32, SAMPLE_RATE


class AudioRing:
    def __init__(
        self, *, channels: int = CHANNELS, max_s: float = 0.2, prime_s: float = 0.02
    ) -> None:
        self.channels = channels
        self._buf = np.zeros((int(max_s * SAMPLE_RATE), channels), np.float32)
        self._fill = 0
        self._prime = int(prime_s * SAMPLE_RATE)
        self._primed = False
        self._lock = threading.Lock()
        self.overflows = 0  # samples dropped because the reader fell behind the input
        self.underflows = 0  # samples of silence because the input fell behind

    @property
    def buffered(self) -> int:
        """Samples pushed and not yet read."""
        return self._fill

    def push(self, block: F32) -> None:
        """Append samples, (n, channels) float32 at 48 kHz; any thread."""
        size = self._buf.shape[0]
        block = block[-size:]
        n = block.shape[0]
        with self._lock:
            excess = self._fill + n - size
            if excess > 0:
                self._buf[: self._fill - excess] = self._buf[excess : self._fill]
                self._fill -= excess
                self.overflows += excess
            self._buf[self._fill : self._fill + n] = block
            self._fill += n
            if self._fill >= self._prime:
                self._primed = True

    def read(self, count: int) -> F32:
        """`count` samples, silence where the input has not delivered; never blocks."""
        out = np.zeros((count, self.channels), np.float32)
        with self._lock:
            n = min(count, self._fill) if self._primed else 0
            out[:n] = self._buf[:n]
            self._buf[: self._fill - n] = self._buf[n : self._fill]
            self._fill -= n
            if n < count:
                self._primed = False
        self.underflows += count - n
        return out

    def skip(self, count: int) -> int:
        """Drop up to `count` of the oldest samples (to catch up with a clock); how many went."""
        with self._lock:
            n = min(count, self._fill)
            self._buf[: self._fill - n] = self._buf[n : self._fill]
            self._fill -= n
        return n

    def clear(self) -> None:
        with self._lock:
            self._fill = 0
            self._primed = False
