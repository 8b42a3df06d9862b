"""What the simulcast encoder makes: layers, audio, which H.264 encoder, and the pts clock.

Both layers stamp their packets on one 90 kHz timeline derived from the program clock's
pts, so a viewer switched from one layer to the other at an IDR sees increasing pts. Each
layer carries its own Opus (hi stereo, lo mono at a third of the rate), cut into the same
20 ms frames from the same program samples, so both layers' audio packets carry the same
pts and a viewer's audio can change layer at any packet boundary.
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
class AudioConfig:
    """One layer's Opus, because WebRTC plays it (and not AAC)."""

    bitrate: int = 64_000
    channels: int = 2  # 1: the program's stereo is downmixed before encoding
    frame_ms: int = 20  # 20 ms is Opus's sweet spot; lowdelay mode adds only 2.5 ms
    # "on" (libopus's default: the rate is an average), "constrained" (each packet kept near
    # the rate: what a layer with a hard budget wants) or "off" (CBR).
    vbr: str = "constrained"

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise ValueError(f"Opus is sent mono or stereo, not {self.channels} channels")
        if not 6_000 <= self.bitrate <= 510_000:
            raise ValueError(f"Opus bitrate must be 6-510 kbps, got {self.bitrate}")
        if self.frame_ms not in (10, 20, 40, 60):
            raise ValueError(f"frame_ms must be 10, 20, 40 or 60, got {self.frame_ms}")
        if self.vbr not in ("on", "constrained", "off"):
            raise ValueError(f"vbr must be on, constrained or off, got {self.vbr!r}")


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
    # twice the allowed burst. So 0.25 s. (At lo's 68 kbps, since lo's budget carries its own
    # Opus, 0.25 s gives lo's first IDR 29.1 dB: 1.8 kB instead of 0.9 kB at 0.1 s.)
    vbv_s: float = 0.25
    # This layer's Opus; None takes EncoderConfig.audio (see EncoderConfig.layer_audio).
    audio: AudioConfig | None = None

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


# Opus per layer (RFC 7587 section 7.1: fullband speech 28-40 kbps, fullband stereo music
# 64-128 kbps). Both constrained VBR: libopus's default (unconstrained) VBR ran 30 % over its
# target on the benchmark's music-like sound (64k stereo gave 83 kbps, 28k mono 38 kbps), and
# a layer's budget must hold. hi keeps stereo at 64 kbps, the floor for stereo music.
# lo is a viewer on a bad link, where words carry the show: mono (libopus would downmix
# below ~19 kbps anyway) at 28 kbps, the floor for fullband speech; lowdelay mode is CELT
# only (no SILK), so going lower costs speech more than it would in VoIP mode.
HI_AUDIO = AudioConfig(64_000, channels=2, vbr="constrained")
LO_AUDIO = AudioConfig(28_000, channels=1, vbr="constrained")
# lo fits the seed's 0.1 Mbps with its sound: video + Opus payload <= 100 kbps. 100 - 28 = 72
# kbps for the picture, less 4 for x264's and Opus's rate control (each lands within ~2 % of
# its target over seconds of noisy content: bench/layer_rates.py). MPEG-TS adds a lot on top
# on the wire (a 188-byte packet per ~70-byte Opus packet): the benchmark reports it.
# hi keeps its 1 Mbps picture; its sound comes on top (the seed's ~1 Mbps is approximate,
# and the quality manager moves a viewer to hi only above 1.5 Mbps).
HI = LayerConfig("hi", Size(640, 360), 60, 1_000_000, audio=HI_AUDIO)
LO = LayerConfig("lo", Size(320, 180), 30, 68_000, audio=LO_AUDIO)
DEFAULT_LAYERS = (HI, LO)
LO_BUDGET = 100_000
"""What the lo layer's video and Opus payload may add up to, in bits per second."""


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    layers: tuple[LayerConfig, ...] = DEFAULT_LAYERS
    audio: AudioConfig | None = field(default_factory=AudioConfig)
    """The Opus of a layer that names none of its own; None: no layer carries audio."""
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

    def layer_audio(self, name: str) -> AudioConfig | None:
        """The Opus that layer `name` carries: its own, else the default; None without audio."""
        if self.audio is None:
            return None
        return self.layer(name).audio or self.audio

    def audio_channels(self, name: str) -> int | None:
        """What layer `name`'s TS declares in its Opus descriptor (None: no audio stream)."""
        audio = self.layer_audio(name)
        return audio.channels if audio is not None else None
