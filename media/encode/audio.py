"""Program audio to Opus, one encoder per layer, with pts kept on the program clock.

The clock hands over exactly one tick of samples (800 at 60 fps); Opus wants 20 ms frames
(960). We cut the frames ourselves and stamp each with its first sample's pts, rather than
leave it to PyAV's resampler, which re-times its output and drifts from the video after the
clock skips a tick. A gap in the input (skipped ticks) is filled with silence so audio stays
in step with the pictures; a jump of more than a second restarts the framing.

Every layer's encoder frames the same program samples the same way (frame k starts at
program sample 960 k after the first, and the lowdelay pre-skip does not depend on the rate
or the channel count), so hi's stereo and lo's mono packets carry the same pts: a viewer
moved between layers changes audio at a packet boundary with nothing lost or repeated.
"""

from __future__ import annotations

import time
from fractions import Fraction

import av
import numpy as np

from media.audio.frames import F32, SAMPLE_RATE, AudioFrame
from media.encode.config import PTS_HZ, AudioConfig
from media.encode.units import EncodedAudio

_MAX_GAP = SAMPLE_RATE  # one second: beyond that, start afresh instead of sending silence


def to_pts90(samples: int) -> int:
    return samples * PTS_HZ // SAMPLE_RATE


class OpusEncoder:
    """Not thread-safe: one encode thread."""

    def __init__(self, config: AudioConfig | None = None) -> None:
        self.config = config or AudioConfig()
        self.channels = channels = self.config.channels
        ctx = av.CodecContext.create("libopus", "w")
        if not isinstance(ctx, av.AudioCodecContext):
            raise TypeError("libopus is not an audio encoder")
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "stereo" if channels == 2 else "mono"
        ctx.format = "flt"
        ctx.time_base = Fraction(1, SAMPLE_RATE)
        ctx.bit_rate = self.config.bitrate
        # lowdelay: 2.5 ms of look-ahead instead of 6.5 ms, and no speech/music switching.
        ctx.options = {
            "application": "lowdelay",
            "frame_duration": str(self.config.frame_ms),
            "vbr": self.config.vbr,
        }
        ctx.open()
        self._ctx = ctx
        self.frame_size = ctx.frame_size or SAMPLE_RATE * self.config.frame_ms // 1000
        self._pending = np.zeros((0, channels), np.float32)
        self._pending_pts: int | None = None  # pts of the first pending sample
        self.gaps_filled = 0
        self.restarts = 0
        self.cpu_s = 0.0  # thread CPU spent encoding, for the stats and the benchmark

    def encode(self, audio: AudioFrame) -> list[EncodedAudio]:
        """Opus packets completed by this block of samples (zero, one or two)."""
        started = time.thread_time()
        try:
            return self._encode(audio)
        finally:
            self.cpu_s += time.thread_time() - started

    def _encode(self, audio: AudioFrame) -> list[EncodedAudio]:
        samples = audio.samples
        if samples.shape[1] != self.channels:
            samples = _match_channels(samples, self.channels)
        if self._pending_pts is None:
            self._pending_pts = audio.pts
        expected = self._pending_pts + self._pending.shape[0]
        gap = audio.pts - expected
        if gap < 0 or gap > _MAX_GAP:  # overlap or a long jump: start the framing again
            self.restarts += 1
            self._pending = np.zeros((0, self.channels), np.float32)
            self._pending_pts = audio.pts
        elif gap > 0:
            self.gaps_filled += 1
            silence = np.zeros((gap, self.channels), np.float32)
            self._pending = np.concatenate([self._pending, silence])
        self._pending = np.concatenate([self._pending, samples])
        out: list[EncodedAudio] = []
        while self._pending.shape[0] >= self.frame_size:
            chunk, self._pending = (
                self._pending[: self.frame_size],
                self._pending[self.frame_size :],
            )
            out.extend(self._encode_frame(chunk, self._pending_pts))
            self._pending_pts += self.frame_size
        return out

    def _encode_frame(self, chunk: F32, pts: int) -> list[EncodedAudio]:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk).reshape(1, -1), format="flt", layout=self._ctx.layout
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        frame.time_base = Fraction(1, SAMPLE_RATE)
        out = []
        for packet in self._ctx.encode(frame):
            # The first packet starts before its frame by the encoder's pre-skip: at the very
            # start of the show that is a negative pts, which MPEG-TS cannot carry.
            if packet.pts is None or packet.pts < 0:
                continue
            duration = packet.duration or self.frame_size
            out.append(EncodedAudio(to_pts90(packet.pts), bytes(packet), to_pts90(duration)))
        return out


def _match_channels(samples: F32, channels: int) -> F32:
    if channels == 1:
        return np.asarray(samples.mean(axis=1, keepdims=True), np.float32)
    return np.asarray(np.repeat(samples[:, :1], channels, axis=1), np.float32)
