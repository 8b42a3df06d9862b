"""A capture timestamp drawn into the picture as big luma blocks, and read back.

Two rows of 20 square blocks across the top, each block a twentieth of the frame
width: at 640x360 a block is 32x32, so after the lo layer's scale to 320x180 it
is 16x16 and lands exactly on one H.264 macroblock. Only luma extremes (16/235)
with neutral chroma, so scaling and 100 kbps compression smear edges but never
flip a block. The 40 bits are a 32-bit value (wall-clock milliseconds mod 2^32,
comparable across processes and with a browser's Date.now()) and a CRC-8 (xor
0x55, so an all-black or all-white frame never reads as a stamp).
"""

from __future__ import annotations

import time

import av
import numpy as np
import numpy.typing as npt

from media.frames import C_ZERO, Y_BLACK, Y_WHITE, Frame, Size

COLUMNS = 20
ROWS = 2
VALUE_BITS = 32
CHECK_BITS = 8
MODULUS = 1 << VALUE_BITS
_CRC_XOR = 0x55
_THRESHOLD = (Y_BLACK + Y_WHITE) / 2
# A block whose mean is this close to the threshold is neither black nor white:
# the picture is not a stamp (or is too damaged to trust).
_MARGIN = 40.0

_WEIGHTS = (1 << np.arange(VALUE_BITS - 1, -1, -1, dtype=np.uint64)).astype(np.uint64)


def now_ms() -> int:
    return time.time_ns() // 1_000_000 % MODULUS


def age_ms(stamp: int, now: int | None = None) -> int:
    """Milliseconds since `stamp`, across the 2^32 wrap (negative if it is ahead)."""
    delta = ((now_ms() if now is None else now) - stamp) % MODULUS
    return delta - MODULUS if delta >= MODULUS // 2 else delta


def block_size(width: int) -> int:
    return (width // COLUMNS) & ~1


def stamp_height(size: Size) -> int:
    return ROWS * block_size(size.width)


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


_CRC_TABLE = _crc8_table()
_SHIFTS = np.arange(VALUE_BITS + CHECK_BITS - 1, -1, -1, dtype=np.uint64)


def _crc8(value: int) -> int:
    """CRC-8 (polynomial 0x07) of the value's 4 big-endian bytes, xor 0x55."""
    crc = 0
    for byte in value.to_bytes(4, "big"):
        crc = _CRC_TABLE[crc ^ byte]
    return crc ^ _CRC_XOR


def stamp_bits(value: int) -> npt.NDArray[np.bool_]:
    value %= MODULUS
    word = np.uint64((value << CHECK_BITS) | _crc8(value))
    return ((word >> _SHIFTS) & np.uint64(1)).astype(np.bool_).reshape(ROWS, COLUMNS)


def draw_stamp(buffer: npt.NDArray[np.uint8], size: Size, value: int) -> None:
    """Draw `value` into a writable I420 buffer of `size` (top rows, neutral chroma)."""
    b = block_size(size.width)
    if ROWS * b > size.height or b < 2:
        raise ValueError(f"frame {size} is too small for a stamp")
    x0 = ((size.width - COLUMNS * b) // 2) & ~1
    x1 = x0 + COLUMNS * b
    rows = np.repeat(np.where(stamp_bits(value), np.uint8(Y_WHITE), np.uint8(Y_BLACK)), b, axis=1)
    for r in range(ROWS):
        buffer[r * b : (r + 1) * b, x0:x1] = rows[r]  # one row, broadcast down the block
    quarter = (size.height // 2) * (size.width // 2)
    flat = buffer.reshape(-1)
    for start in (size.width * size.height, size.width * size.height + quarter):
        chroma = flat[start : start + quarter].reshape(size.height // 2, size.width // 2)
        chroma[: ROWS * b // 2, x0 // 2 : x1 // 2] = C_ZERO


def decode_stamp(picture: Frame | av.VideoFrame | npt.NDArray[np.uint8]) -> int | None:
    """The stamped value, or None when the picture carries no valid stamp.

    `picture` is our Frame, a PyAV VideoFrame (any format), a luma plane (H, W)
    or an RGB image (H, W, 3).
    """
    luma = _luma(picture)
    height, width = luma.shape
    b = block_size(width)
    if b < 4 or ROWS * b > height:
        return None
    x0 = ((width - COLUMNS * b) // 2) & ~1
    lo, hi = b // 4, b - b // 4
    region = luma[: ROWS * b, x0 : x0 + COLUMNS * b].reshape(ROWS, b, COLUMNS, b)
    means = region[:, lo:hi, :, lo:hi].mean(axis=(1, 3), dtype=np.float32)
    if np.any(np.abs(means - _THRESHOLD) < _MARGIN):
        return None
    bits = (means > _THRESHOLD).reshape(-1)
    value = int(np.dot(bits[:VALUE_BITS].astype(np.uint64), _WEIGHTS))
    check = 0
    for bit in bits[VALUE_BITS:]:
        check = (check << 1) | int(bit)
    return value if check == _crc8(value) else None


def _luma(picture: Frame | av.VideoFrame | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if isinstance(picture, Frame):
        return picture.y
    if isinstance(picture, av.VideoFrame):
        if picture.format.name in ("yuv420p", "yuvj420p", "nv12", "gray", "yuv422p", "yuv444p"):
            plane = picture.planes[0]
            raw = np.frombuffer(memoryview(plane), np.uint8)
            return raw.reshape(plane.height, plane.line_size)[:, : plane.width]
        return np.asarray(picture.reformat(format="gray").to_ndarray(), np.uint8)
    array = np.asarray(picture)
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[2] >= 3:
        rgb = array[..., :3].astype(np.float32)
        luma = 16 + (65.738 * rgb[..., 0] + 129.057 * rgb[..., 1] + 25.064 * rgb[..., 2]) / 256
        return np.asarray(luma, np.uint8)
    raise ValueError(f"cannot read a stamp from an array of shape {array.shape}")
