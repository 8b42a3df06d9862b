"""Top-level ISO BMFF boxes in a byte stream (ISO/IEC 14496-12, 4.2): enough to tell the
muxer's init (ftyp, moov) from its finished fragments (moof + mdat)."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Box:
    kind: bytes  # the four-character type, e.g. b"moof"
    start: int
    end: int


def complete_boxes(data: bytes | bytearray, at: int = 0) -> list[Box]:
    """The whole boxes in `data` from `at` on; a box still being written is left out."""
    boxes: list[Box] = []
    n = len(data)
    while at + 8 <= n:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if at + 16 > n:
                break
            (size,) = struct.unpack_from(">Q", data, at + 8)
            header = 16
        if size < header or at + size > n:
            break
        boxes.append(Box(bytes(kind), at, at + size))
        at += size
    return boxes
