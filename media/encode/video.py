"""One H.264 layer: takes program frames at its own rate and size, emits access units.

Decimation is by timestamp, not by counting frames: a layer keeps a program frame when it
starts a new slot of the layer's frame period (60 -> 30 fps keeps ticks 0, 2, 4, ...; after
a dropped tick it keeps the next one), so drops upstream never shift a layer off the shared
90 kHz timeline. Frames of another size than the layer's (a clock reconfigured, a source
at an odd size) are scaled on the way in, keeping the aspect ratio, and converted in the
same swscale pass to the pixel format the encoder takes (nv12 for QSV and VAAPI).

A hardware encoder that fails during the show (a driver reset, a GPU gone) is replaced by
libx264 at once: the frame it failed on is encoded again by the new encoder, whose first
frame is an IDR, so the layer has no gap at all and a viewer recovers at that IDR.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import av
from av.video.frame import PictureType
from av.video.reformatter import VideoReformatter

from media.encode.codecs import SOFTWARE, InputFormat, open_video
from media.encode.config import PTS_HZ, LayerConfig
from media.encode.nal import has_idr
from media.encode.units import EncodedVideo
from media.frames import Frame, scale_to_fit

log = logging.getLogger(__name__)

ContextOpener = Callable[..., tuple[av.VideoCodecContext, InputFormat]]
"""open_video's shape: (encoder, layer, *, preset, threads) -> (context, input format)."""

# What a failing encoder raises: FFmpeg's errors (OSError subclasses among them), and
# PyAV's RuntimeError/ValueError when a device or its frames context is gone.
ENCODE_ERRORS = (av.FFmpegError, OSError, RuntimeError, ValueError)


class LayerEncoder:
    """Not thread-safe except `request_keyframe`, which any thread may call."""

    def __init__(
        self,
        layer: LayerConfig,
        encoder: str,
        *,
        preset: str = "veryfast",
        threads: int = 0,
        opener: ContextOpener = open_video,
    ) -> None:
        self.layer = layer
        self.encoder = encoder
        self.failed: str = ""  # a hardware encoder that failed here; libx264 took over
        self.failure: str = ""  # its error, in one line
        self._preset, self._threads, self._opener = preset, threads, opener
        self._ctx, self._format = opener(encoder, layer, preset=preset, threads=threads)
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
        try:
            packets = self._ctx.encode(av_frame)
        except ENCODE_ERRORS as exc:
            if self.encoder == SOFTWARE:
                raise
            packets = self._fall_back(av_frame, exc)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return [self._unit(packet, elapsed_ms) for packet in packets]

    def _fall_back(self, av_frame: av.VideoFrame, exc: Exception) -> list[av.Packet[Any]]:
        """The encoder failed: open libx264 and encode this same frame with it (an IDR)."""
        self.failure = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.error(
            "layer %s: %s failed (%s); libx264 takes over from this frame",
            self.layer.name,
            self.encoder,
            self.failure,
        )
        self.failed, self.encoder = self.encoder, SOFTWARE
        self._ctx, fmt = self._opener(
            SOFTWARE, self.layer, preset=self._preset, threads=self._threads
        )
        if fmt.frame_format != self._format.frame_format:
            pts, av_frame = av_frame.pts, av_frame.reformat(format=fmt.frame_format)
            av_frame.pts = pts
        self._format = fmt
        av_frame.pict_type = PictureType.I
        packets: list[av.Packet[Any]] = self._ctx.encode(av_frame)
        return packets

    def _picture(self, frame: Frame) -> av.VideoFrame:
        size, fmt = self.layer.size, self._format.frame_format
        if frame.size == size:
            picture = frame.to_av()
            return picture if fmt == "yuv420p" else self._scaler.reformat(picture, format=fmt)
        if frame.width * size.height == frame.height * size.width:
            # Same shape: one swscale pass, with a reformatter kept so its context is reused
            # (a fresh one per frame costs more than the scaling itself).
            return self._scaler.reformat(
                frame.to_av(),
                width=size.width,
                height=size.height,
                format=fmt,
                interpolation="AREA",
            )
        picture = scale_to_fit(frame, size).to_av()  # another shape: letterbox or pillarbox
        return picture if fmt == "yuv420p" else self._scaler.reformat(picture, format=fmt)

    def _unit(self, packet: av.Packet[Any], encode_ms: float) -> EncodedVideo:
        slot = packet.pts if packet.pts is not None else self._last_slot
        pts90, program_pts = self._pending.pop(slot, (0, 0))
        # Anything older than this packet will never come out (no B-frames): forget it.
        for stale in [s for s in self._pending if s < slot]:
            del self._pending[stale]
        data = bytes(packet)
        return EncodedVideo(self.layer.name, pts90, data, has_idr(data), encode_ms, program_pts)
