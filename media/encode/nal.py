"""H.264 Annex B helpers: which NAL units a packet holds, and the access unit delimiter.

IDRs are found by NAL type (5) rather than `packet.is_keyframe`, because a low-latency
demuxer (fflags=noparse) never sets that flag, and the same check must work on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9

# An access unit delimiter, primary_pic_type 7 (any slice type): MPEG-TS wants one at the
# start of every H.264 access unit (ISO/IEC 13818-1, 2.14.1).
AUD = b"\x00\x00\x00\x01\x09\xf0"


def nal_types(data: bytes | bytearray | memoryview) -> Iterator[int]:
    """The nal_unit_type of every NAL unit in an Annex B byte string, in order."""
    raw = bytes(data)
    at = raw.find(b"\x00\x00\x01")
    while at != -1 and at + 3 < len(raw):
        yield raw[at + 3] & 0x1F
        at = raw.find(b"\x00\x00\x01", at + 3)


def has_idr(data: bytes | bytearray | memoryview) -> bool:
    return NAL_IDR in nal_types(data)


def with_aud(data: bytes) -> bytes:
    """`data` starting with an access unit delimiter (added only if it has none)."""
    first = next(nal_types(data[:8]), None)
    return data if first == NAL_AUD else AUD + data
