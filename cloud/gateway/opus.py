"""Opus out of MPEG-TS: strip the control header (ETSI TS 102 366 / ffmpeg's mapping).

The low-latency demuxer runs without parsers (`fflags=noparse`), so each Opus PES payload
arrives as the TS wraps it: a control header (11-bit prefix 0x3ff, trim/extension flags,
au_size in 0xff runs) before each Opus packet. WebRTC wants the bare packets.
"""

from __future__ import annotations


class OpusFramingError(ValueError):
    """The payload is not Opus-in-TS framing."""


def split_opus(payload: bytes) -> list[bytes]:
    """The Opus packets in one PES payload (one or more control-header + packet pairs)."""
    out: list[bytes] = []
    at = 0
    n = len(payload)
    while at < n:
        if at + 2 > n or payload[at] != 0x7F or payload[at + 1] & 0xE0 != 0xE0:
            raise OpusFramingError("no Opus control header")
        flags = payload[at + 1]
        at += 2
        size = 0
        while True:
            if at >= n:
                raise OpusFramingError("truncated au_size")
            byte = payload[at]
            at += 1
            size += byte
            if byte != 0xFF:
                break
        if flags & 0x10:  # start_trim_flag: 16 bits
            at += 2
        if flags & 0x08:  # end_trim_flag: 16 bits
            at += 2
        if flags & 0x04:  # control_extension_flag: a length byte, then that many bytes
            if at >= n:
                raise OpusFramingError("truncated control extension")
            at += 1 + payload[at]
        if size == 0 or at + size > n:
            raise OpusFramingError("au_size runs past the payload")
        out.append(payload[at : at + size])
        at += size
    return out
