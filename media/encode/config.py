"""What the simulcast encoder makes: layers, audio, which H.264 encoder, and the pts clock.

Both layers stamp their packets on one 90 kHz timeline derived from the program clock's
pts, so a viewer switched from one layer to the other at an IDR sees increasing pts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from media.frames import Size

PTS_HZ = 90_000
"""The shared timeline of every packet the encoder emits (MPEG-TS's PTS clock)."""


def to_pts90(pts: int, time_base: Fraction) -> int:
    """A program-clock pts (in `time_base` units) on the 90 kHz timeline."""
    return int(pts * time_base * PTS_HZ)


@dataclass(frozen=True, slots=True)
class LayerConfig:
    """One H.264 layer: what the viewer's player chooses between."""

    name: str
    size: Size
    fps: Fraction | int
    bitrate: int  # bits per second
    keyint_s: float = 2.0
    # The VBV buffer in seconds of `bitrate`: the most one frame (an IDR) may burst above the
    # rate, and so the worst queueing it adds at a bottleneck of that rate. Measured
    # (python -m bench.encode --vbv-sweep, noisy 360p content, first IDR PSNR): one frame's
    # worth leaves the first IDRs grey (hi 14.6 dB, lo 13.1 dB); 0.1 s is enough for hi
    # (33.1 dB) but not lo (13.1 dB); 0.25 s gives lo 32.6 dB; 0.5 s only 1.4 dB more for
    # twice the allowed burst. So 0.25 s.
    vbv_s: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "fps", Fraction(self.fps))
        if not self.name or not self.name.isidentifier():
            raise ValueError(f"layer name must be a short identifier, got {self.name!r}")
        if self.fps <= 0 or self.bitrate <= 0 or self.keyint_s <= 0 or self.vbv_s <= 0:
            raise ValueError(f"layer {self.name}: fps, bitrate, keyint_s and vbv_s must be > 0")

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps)

    @property
    def keyint(self) -> int:
        """Frames between IDRs."""
        return max(1, round(self.keyint_s * self.rate))

    @property
    def vbv_bits(self) -> int:
        return max(1000, round(self.bitrate * self.vbv_s))


HI = LayerConfig("hi", Size(640, 360), 60, 1_000_000)
LO = LayerConfig("lo", Size(320, 180), 30, 100_000)
DEFAULT_LAYERS = (HI, LO)


@dataclass(frozen=True, slots=True)
class AudioConfig:
    """Opus, because WebRTC plays it (and not AAC); encoded once, muxed into every layer."""

    bitrate: int = 64_000
    frame_ms: int = 20  # 20 ms is Opus's sweet spot; lowdelay mode adds only 2.5 ms


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    layers: tuple[LayerConfig, ...] = DEFAULT_LAYERS
    audio: AudioConfig | None = field(default_factory=AudioConfig)
    encoder: str = "auto"
    """"auto" (first hardware encoder that opens, else libx264) or an FFmpeg encoder name."""
    preset: str = "veryfast"
    """libx264's preset; hardware encoders get their own fastest low-latency setting."""
    threads: int = 0
    """Encoder threads per layer; 0 lets the encoder choose (libx264: sliced threads)."""
    queue_size: int = 2
    """Program frames waiting for the encoder; more are dropped (oldest first) and counted."""

    def __post_init__(self) -> None:
        names = [layer.name for layer in self.layers]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"layers need unique names, got {names}")
        if self.queue_size < 1 or self.threads < 0:
            raise ValueError("queue_size must be >= 1 and threads >= 0")

    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)
