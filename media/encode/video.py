"""One H.264 layer: takes program frames at its own rate and size, emits access units.

Decimation is by timestamp, not by counting frames: a layer keeps a program frame when it
starts a new slot of the layer's frame period (60 -> 30 fps keeps ticks 0, 2, 4, ...; after
a dropped tick it keeps the next one), so drops upstream never shift a layer off the shared
90 kHz timeline. Frames of another size than the layer's (a clock reconfigured, a source
at an odd size) are scaled on the way in, keeping the aspect ratio.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import av
from av.video.frame import PictureType
from av.video.reformatter import VideoReformatter

from media.encode.codecs import open_video
from media.encode.config import PTS_HZ, LayerConfig
from media.encode.nal import has_idr
from media.encode.units import EncodedVideo
from media.frames import Frame, scale_to_fit


class LayerEncoder:
    """Not thread-safe except `request_keyframe`, which any thread may call."""

    def __init__(
        self, layer: LayerConfig, encoder: str, *, preset: str = "veryfast", threads: int = 0
    ) -> None:
        self.layer = layer
        self.encoder = encoder
        self._ctx = open_video(encoder, layer, preset=preset, threads=threads)
        self._last_slot = -1
        # Encoder pts (the slot) -> (pts90, program pts) of frames still inside the encoder.
        self._pending: dict[int, tuple[int, int]] = {}
        self._keyframe = threading.Event()
        self._scaler = VideoReformatter()

    def slot(self, pts90: int) -> int:
        """The layer frame period that `pts90` falls in."""
        rate = self.layer.rate
        return (pts90 * rate.numerator) // (PTS_HZ * rate.denominator)

    def wants(self, pts90: int) -> bool:
        """Whether the program frame at `pts90` is one of this layer's frames."""
        return self.slot(pts90) > self._last_slot

    def request_keyframe(self) -> None:
        """Make the next encoded frame an IDR (a flag; the encode thread reads it)."""
        self._keyframe.set()

    def encode(self, frame: Frame, pts90: int, program_pts: int) -> list[EncodedVideo]:
        """Encode `frame` if this layer wants it; the access units that came out."""
        slot = self.slot(pts90)
        if slot <= self._last_slot:
            return []
        self._last_slot = slot
        started = time.perf_counter()
        av_frame = self._picture(frame)
        av_frame.pts = slot
        if self._keyframe.is_set():
            self._keyframe.clear()
            av_frame.pict_type = PictureType.I  # with forced-idr: an IDR, not just an I-frame
        self._pending[slot] = (pts90, program_pts)
        packets = self._ctx.encode(av_frame)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return [self._unit(packet, elapsed_ms) for packet in packets]

    def _picture(self, frame: Frame) -> av.VideoFrame:
        size = self.layer.size
        if frame.size == size:
            return frame.to_av()
        if frame.width * size.height == frame.height * size.width:
            # Same shape: one swscale pass, with a reformatter kept so its context is reused
            # (a fresh one per frame costs more than the scaling itself).
            return self._scaler.reformat(
                frame.to_av(), width=size.width, height=size.height, interpolation="AREA"
            )
        return scale_to_fit(frame, size).to_av()  # another shape: letterbox or pillarbox

    def _unit(self, packet: av.Packet[Any], encode_ms: float) -> EncodedVideo:
        slot = packet.pts if packet.pts is not None else self._last_slot
        pts90, program_pts = self._pending.pop(slot, (0, 0))
        # Anything older than this packet will never come out (no B-frames): forget it.
        for stale in [s for s in self._pending if s < slot]:
            del self._pending[stale]
        data = bytes(packet)
        return EncodedVideo(self.layer.name, pts90, data, has_idr(data), encode_ms, program_pts)
