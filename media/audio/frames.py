"""Program audio frames: 48 kHz stereo float32, one frame per video tick.

Why one frame per tick: the program clock renders audio for exactly the span of
each video frame, so audio pts and video pts come from the same tick and cannot
drift apart. At 60 fps that is 800 samples; for rates that do not divide 48000
(59.94) the sample count alternates (800/801) so that the audio pts of tick n is
always floor(n * 48000 / fps) in a 1/48000 time base.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
CHANNELS = 2
TIME_BASE = Fraction(1, SAMPLE_RATE)

F32 = npt.NDArray[np.float32]


def audio_pts(video_pts: int, fps: Fraction) -> int:
    """The first audio sample of video tick `video_pts`, in 1/48000 s."""
    return int(video_pts * SAMPLE_RATE // fps)


def samples_for_tick(video_pts: int, fps: Fraction) -> int:
    return audio_pts(video_pts + 1, fps) - audio_pts(video_pts, fps)


@dataclass(frozen=True, slots=True)
class AudioFrame:
    samples: F32  # (count, channels), read-only, -1..1
    pts: int  # first sample, in TIME_BASE units
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        if self.samples.dtype != np.float32 or self.samples.ndim != 2:
            raise ValueError(f"audio must be (count, channels) float32, got {self.samples.shape}")
        self.samples.flags.writeable = False

    @property
    def count(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    def to_av(self) -> av.AudioFrame:
        layout = "stereo" if self.channels == 2 else "mono"
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(self.samples).reshape(1, -1), format="flt", layout=layout
        )
        frame.sample_rate = self.sample_rate
        frame.pts = self.pts
        frame.time_base = TIME_BASE
        return frame
