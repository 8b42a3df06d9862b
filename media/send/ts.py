"""A minimal MPEG-TS muxer for one layer: H.264 + Opus, every frame out the moment it is in.

Why not PyAV's muxer: `OutputContainer.mux` is `av_interleaved_write_frame`, which holds the
newest packet until a later one of the other stream arrives. With audio beside the video
that is measured at one video frame of added latency (16.7 ms hi, 33 ms lo), two at times
with the default max_interleave_delta, and PyAV has no `av_write_frame`. A live sender
knows its packets are in order already, so it writes each access unit straight away.

What it writes (ISO/IEC 13818-1, and ETSI TS 102 366 / ffmpeg's mapping for Opus):
- PAT + PMT at the start, before every IDR, and at least every `psi_interval90`;
- H.264 (stream type 0x1B, PID 0x100) with an AUD per access unit, PES length filled in when
  it fits (so a demuxer emits the frame without waiting for the next one: ffmpeg's
  `omit_video_pes_length=0`), PCR on every video PES, random_access_indicator on IDRs;
- Opus (stream type 0x06 with the 'Opus' registration and DVB extension descriptors,
  PID 0x101), one packet per PES behind the Opus control header. The extension descriptor
  carries the layer's channel count (1 for lo's mono, 2 for hi's stereo; channel mapping
  family 0), which is what ffmpeg's demuxer reports.
PTS = the encoder's 90 kHz pts + PTS_OFFSET; PCR = that pts without the offset, so a
player buffers PTS_OFFSET (100 ms) and a receiver that ignores the PCR loses nothing.
"""

from __future__ import annotations

from media.encode.nal import with_aud
from media.encode.units import LayerUnit

TS_PACKET = 188
PAT_PID = 0x0000
PMT_PID = 0x1000
VIDEO_PID = 0x0100
AUDIO_PID = 0x0101
PTS_OFFSET = 9000  # 100 ms at 90 kHz: PCR runs this far behind the PTS
_PTS_MASK = (1 << 33) - 1
_PROGRAM = 1


def _crc32_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc32_table()


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _section(table_id: int, table_id_ext: int, body: bytes) -> bytes:
    length = 5 + len(body) + 4  # after the length field: ext id .. last section, body, CRC
    head = bytes(
        [
            table_id,
            0xB0 | (length >> 8),  # section_syntax_indicator, '0', reserved
            length & 0xFF,
            table_id_ext >> 8,
            table_id_ext & 0xFF,
            0xC1,  # reserved, version 0, current_next_indicator
            0x00,  # section_number
            0x00,  # last_section_number
        ]
    )
    section = head + body
    return section + crc32_mpeg2(section).to_bytes(4, "big")


def _pat() -> bytes:
    body = _PROGRAM.to_bytes(2, "big") + (0xE000 | PMT_PID).to_bytes(2, "big")
    return _section(0x00, 1, body)


def _pmt(audio_channels: int | None) -> bytes:
    body = bytearray((0xE000 | VIDEO_PID).to_bytes(2, "big"))  # PCR_PID
    body += (0xF000).to_bytes(2, "big")  # program_info_length 0
    body += bytes([0x1B]) + (0xE000 | VIDEO_PID).to_bytes(2, "big") + (0xF000).to_bytes(2, "big")
    if audio_channels is not None:
        descriptors = b"\x05\x04Opus" + bytes([0x7F, 0x02, 0x80, audio_channels])
        body += bytes([0x06]) + (0xE000 | AUDIO_PID).to_bytes(2, "big")
        body += (0xF000 | len(descriptors)).to_bytes(2, "big") + descriptors
    return _section(0x02, _PROGRAM, bytes(body))


def _pts_bytes(pts: int) -> bytes:
    pts &= _PTS_MASK
    return bytes(
        [
            0x21 | ((pts >> 29) & 0x0E),  # '0010', PTS[32..30], marker
            (pts >> 22) & 0xFF,
            ((pts >> 14) & 0xFE) | 1,
            (pts >> 7) & 0xFF,
            ((pts << 1) & 0xFE) | 1,
        ]
    )


def _pcr_bytes(pcr90: int) -> bytes:
    base = pcr90 & _PTS_MASK  # the extension (27 MHz remainder) is 0: we count in 90 kHz
    return bytes(
        [
            (base >> 25) & 0xFF,
            (base >> 17) & 0xFF,
            (base >> 9) & 0xFF,
            (base >> 1) & 0xFF,
            ((base & 1) << 7) | 0x7E,
            0x00,
        ]
    )


def _pes(stream_id: int, pts: int, payload: bytes, bounded: bool) -> bytes:
    length = 3 + 5 + len(payload)  # flags, header length, PTS, payload
    if length > 0xFFFF:
        if bounded:
            raise ValueError(f"a {len(payload)}-byte audio packet does not fit in one PES")
        length = 0  # allowed for video only: "until the next PES starts"
    header = b"\x00\x00\x01" + bytes([stream_id]) + length.to_bytes(2, "big")
    # '10', not scrambled, data_alignment_indicator; PTS only (no B-frames: DTS = PTS)
    return header + b"\x84\x80\x05" + _pts_bytes(pts) + payload


def _opus_control_header(size: int) -> bytes:
    # 11-bit prefix 0x3ff, no trim and no extension flags, then au_size as 0xff runs
    return b"\x7f\xe0" + b"\xff" * (size // 255) + bytes([size % 255])


def _adaptation(flags: bytes, stuffing: int) -> bytes:
    """An adaptation field carrying `flags` (+ PCR) and `stuffing` bytes of padding."""
    if flags:
        return bytes([len(flags) + stuffing]) + flags + b"\xff" * stuffing
    if stuffing == 0:
        return b""
    if stuffing == 1:
        return b"\x00"  # adaptation_field_length 0: the one byte is the padding
    return bytes([stuffing - 1, 0x00]) + b"\xff" * (stuffing - 2)


class TsMuxer:
    """One layer's transport stream. Not thread-safe: one sender thread uses it.

    Make a fresh one per connection, so every connection starts with PAT/PMT and
    continuity counters from zero.
    """

    def __init__(self, *, audio_channels: int | None = 2, psi_interval90: int = 45_000) -> None:
        if audio_channels not in (None, 1, 2):
            raise ValueError(f"Opus here is mono or stereo, not {audio_channels} channels")
        self.audio = audio_channels is not None
        self._psi_interval = psi_interval90
        self._pat = _pat()
        self._pmt = _pmt(audio_channels)
        self._cc: dict[int, int] = {}
        self._last_psi: int | None = None

    def mux(self, unit: LayerUnit) -> bytes:
        """The TS packets for one tick: video first (latency matters most), then audio."""
        out = bytearray()
        if unit.video is not None:
            out += self.video(unit.video.data, unit.video.pts90, unit.video.idr)
        if self.audio:
            for packet in unit.audio:
                out += self.audio_packet(packet.data, packet.pts90)
        return bytes(out)

    def video(self, data: bytes, pts90: int, idr: bool) -> bytes:
        out = bytearray()
        if idr or self._last_psi is None or pts90 - self._last_psi >= self._psi_interval:
            out += self.psi()
            self._last_psi = pts90
        pes = _pes(0xE0, pts90 + PTS_OFFSET, with_aud(data), bounded=False)
        out += self._packetize(VIDEO_PID, pes, pcr90=pts90, random_access=idr)
        return bytes(out)

    def audio_packet(self, data: bytes, pts90: int) -> bytes:
        pes = _pes(0xBD, pts90 + PTS_OFFSET, _opus_control_header(len(data)) + data, bounded=True)
        return self._packetize(AUDIO_PID, pes)

    def psi(self) -> bytes:
        """PAT and PMT, each in one TS packet."""
        return self._packetize(PAT_PID, b"\x00" + self._pat, fill=0xFF) + self._packetize(
            PMT_PID, b"\x00" + self._pmt, fill=0xFF
        )

    def _packetize(
        self,
        pid: int,
        payload: bytes,
        *,
        pcr90: int | None = None,
        random_access: bool = False,
        fill: int | None = None,
    ) -> bytes:
        """`payload` (a PES, or a pointer field + section) as TS packets of `pid`.

        Sections are padded with 0xff after the payload (`fill`); a PES is padded with
        adaptation-field stuffing in its last packet, as a PES may not carry trailing bytes.
        """
        out = bytearray()
        at, first = 0, True
        while first or at < len(payload):
            cc = self._cc.get(pid, 0)
            self._cc[pid] = (cc + 1) & 0x0F
            flags = b""
            if first and pcr90 is not None:
                flags = bytes([0x10 | (0x40 if random_access else 0)]) + _pcr_bytes(pcr90)
            room = TS_PACKET - 4 - (1 + len(flags) if flags else 0)
            chunk = payload[at : at + room]
            at += len(chunk)
            short, tail = room - len(chunk), b""
            if fill is not None:
                short, tail = 0, bytes([fill]) * short
            adaptation = _adaptation(flags, short)
            control = 0x30 if adaptation else 0x10  # adaptation field + payload, or payload
            out += bytes([0x47, (0x40 if first else 0) | (pid >> 8), pid & 0xFF, control | cc])
            out += adaptation + chunk + tail
            first = False
        return bytes(out)
