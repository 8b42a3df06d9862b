"""Access units and Opus packets into fragmented MP4, with PyAV's mp4 muxer (no decoding).

The muxer (movflags frag_keyframe+empty_moov+default_base_moof) writes its init (ftyp,
moov) at once and each fragment (moof + mdat) when the next keyframe arrives, into a
buffer of ours; `take_fragments` hands over the fragments it has finished. The H.264
parameters (size, SPS/PPS) come from probing the first IDR, which parses its headers only.
"""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import av
from av.container import OutputContainer

from cloud.gateway.units import Unit
from cloud.record.boxes import complete_boxes

VIDEO_TB = Fraction(1, 90000)  # the gateway's units are on the publisher's 90 kHz line
AUDIO_TB = Fraction(1, 48000)
OPUS_PRE_SKIP = 312  # libopus's encoder delay at 48 kHz
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+skip_trailer"


class BadStart(ValueError):
    """The first unit is not an IDR whose SPS/PPS can be read."""


def opus_head(channels: int) -> bytes:
    """The OpusHead (RFC 7845, 5.1) the mp4 muxer's dOps box is made from."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, OPUS_PRE_SKIP, 48000, 0, 0)


def opus_channels(packet: bytes) -> int:
    """Channels of an Opus packet, from its TOC byte's stereo flag (RFC 6716, 3.1)."""
    return 2 if packet and packet[0] & 0x04 else 1


class _Buffer(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        view = memoryview(b)  # type: ignore[arg-type]
        self.data += view
        return view.nbytes


class FragmentMuxer:
    """One recording's muxer: `init` once, then finished fragments as they come."""

    def __init__(self, idr: Unit, audio_channels: int | None) -> None:
        if idr.kind != "video" or not idr.idr:
            raise BadStart("a recording starts at an IDR")
        try:
            probe = av.open(io.BytesIO(idr.data), format="h264")
        except av.FFmpegError as exc:
            raise BadStart(f"the first IDR cannot be probed: {exc}") from exc
        with probe:
            template = probe.streams.video[0]
            if not template.codec_context.width:
                raise BadStart("the first IDR carries no SPS")
            self._buffer = _Buffer()
            self._out: OutputContainer = av.open(
                self._buffer, "w", format="mp4", options={"movflags": MOVFLAGS}
            )
            self._video = self._out.add_stream_from_template(template)
        self._video.time_base = VIDEO_TB
        self._audio = None
        if audio_channels is not None:
            self._audio = self._out.add_stream("opus", rate=48000)
            self._audio.codec_context.extradata = opus_head(audio_channels)
            self._audio.time_base = AUDIO_TB
        self.origin = idr.pts  # the recording's time zero on the publisher's line
        self._last_audio = -1
        self.init = b""
        self.write(idr)
        boxes = complete_boxes(self._buffer.data)
        moov = next((b for b in boxes if b.kind == b"moov"), None)
        if moov is None:
            raise BadStart("the muxer wrote no moov")
        self.init = bytes(self._buffer.data[: moov.end])
        self._drop(moov.end)

    def write(self, unit: Unit) -> None:
        pts = unit.pts - self.origin
        if pts < 0:
            return  # from before the recording's first IDR
        packet = av.Packet(unit.data)
        if unit.kind == "video":
            packet.is_keyframe = unit.idr
            packet.stream = self._video
            packet.time_base = VIDEO_TB
        else:
            if self._audio is None:
                return
            pts = pts * 48000 // 90000
            if pts <= self._last_audio:
                return  # two layers' rounding, or a repeat: never back in time
            self._last_audio = pts
            packet.stream = self._audio
            packet.time_base = AUDIO_TB
        packet.pts = packet.dts = pts
        self._out.mux(packet)

    def take_fragments(self) -> list[bytes]:
        """The fragments (moof + mdat, together) finished since the last call."""
        data = self._buffer.data
        out: list[bytes] = []
        start = None
        end = 0
        for box in complete_boxes(data):
            if box.kind == b"moof":
                start = box.start
            elif box.kind == b"mdat" and start is not None:
                out.append(bytes(data[start : box.end]))
                start = None
            end = box.end if start is None else end
        self._drop(end)
        return out

    def close(self) -> list[bytes]:
        """Flush the last fragment; the fragments not yet taken."""
        self._out.close()
        return self.take_fragments()

    def _drop(self, n: int) -> None:
        del self._buffer.data[:n]
