"""What the encoder hands the senders: encoded video and audio on the 90 kHz timeline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EncodedVideo:
    """One H.264 access unit (Annex B, SPS/PPS in band before an IDR)."""

    layer: str
    pts90: int
    data: bytes
    idr: bool
    encode_ms: float  # time spent in this layer's scale + encode for this frame
    program_pts: int  # the program tick it came from


@dataclass(frozen=True, slots=True)
class EncodedAudio:
    """One Opus packet of one layer; every layer's packet of the same 20 ms has this pts."""

    pts90: int
    data: bytes
    duration90: int


@dataclass(frozen=True, slots=True)
class LayerUnit:
    """Everything one layer sends for one program tick: its picture (None on a tick the
    layer skips, e.g. every other one at 30 fps) and the audio packets finished this tick."""

    layer: str
    video: EncodedVideo | None
    audio: tuple[EncodedAudio, ...]
    time: float  # time.monotonic() the tick was due on the program clock

    @property
    def nbytes(self) -> int:
        size = len(self.video.data) if self.video else 0
        return size + sum(len(a.data) for a in self.audio)
