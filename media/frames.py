"""The one picture type of the media core: an immutable I420 (yuv420p) frame.

Why I420: the encoder downstream wants yuv420p, and keeping Y, U and V in one
contiguous (h * 3 / 2, w) buffer - the layout PyAV's `to_ndarray()` gives for
yuv420p - lets the mixer blend a whole picture with one numpy call.
Colour is BT.601 limited range, the libswscale default, everywhere in `media`.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]

Y_BLACK = 16
Y_WHITE = 235
C_ZERO = 128


@dataclass(frozen=True, slots=True)
class Size:
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 2 or self.height < 2 or self.width % 2 or self.height % 2:
            raise ValueError(f"frame size must be even and >= 2, got {self.width}x{self.height}")

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @classmethod
    def parse(cls, text: str) -> Size:
        w, _, h = text.lower().partition("x")
        return cls(int(w), int(h))


@dataclass(frozen=True, slots=True)
class Frame:
    """One picture. `data` is read-only: frames are shared between threads without copies."""

    data: U8

    def __post_init__(self) -> None:
        d = self.data
        if d.dtype != np.uint8 or d.ndim != 2 or d.shape[0] % 3 or d.shape[1] % 2:
            raise ValueError(f"not an I420 buffer: {d.dtype} {d.shape}")
        if d.flags.writeable:
            d.flags.writeable = False

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def height(self) -> int:
        return int(self.data.shape[0]) * 2 // 3

    @property
    def size(self) -> Size:
        return Size(self.width, self.height)

    @property
    def y(self) -> U8:
        return self.data[: self.height]

    @property
    def u(self) -> U8:
        return _chroma(self.data, self.width, self.height, 0)

    @property
    def v(self) -> U8:
        return _chroma(self.data, self.width, self.height, 1)

    def to_av(self) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(self.data, format="yuv420p")

    @classmethod
    def from_av(cls, frame: av.VideoFrame, size: Size | None = None) -> Frame:
        """Convert (and scale, if `size` differs) with libswscale in one pass."""
        width, height = (size.width, size.height) if size else (frame.width & ~1, frame.height & ~1)
        if frame.format.name != "yuv420p" or (frame.width, frame.height) != (width, height):
            frame = frame.reformat(width=width, height=height, format="yuv420p")
        return cls(np.asarray(frame.to_ndarray(), np.uint8))


def _chroma(data: U8, width: int, height: int, index: int) -> U8:
    quarter = (height // 2) * (width // 2)
    start = height * width + index * quarter
    return data.reshape(-1)[start : start + quarter].reshape(height // 2, width // 2)


def new_buffer(size: Size) -> U8:
    return np.empty((size.height * 3 // 2, size.width), np.uint8)


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, the same matrix libswscale uses by default."""
    r, g, b = rgb
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    return (round(y), round(u), round(v))


def fill(buffer: U8, size: Size, yuv: tuple[int, int, int]) -> None:
    h, w = size.height, size.width
    buffer[:h] = yuv[0]
    flat = buffer.reshape(-1)
    quarter = (h // 2) * (w // 2)
    flat[h * w : h * w + quarter] = yuv[1]
    flat[h * w + quarter :] = yuv[2]


def solid(size: Size, rgb: tuple[int, int, int] = (0, 0, 0)) -> Frame:
    buffer = new_buffer(size)
    fill(buffer, size, rgb_to_yuv(rgb))
    return Frame(buffer)


def scale_to_fit(frame: Frame, size: Size) -> Frame:
    """Scale into `size` keeping the aspect ratio; bars are black. One swscale pass."""
    if frame.size == size:
        return frame
    src_w, src_h = frame.width, frame.height
    if src_w * size.height == src_h * size.width:
        return Frame.from_av(frame.to_av(), size)
    if src_w * size.height > src_h * size.width:
        inner = Size(size.width, max(2, (size.width * src_h // src_w) & ~1))
    else:
        inner = Size(max(2, (size.height * src_w // src_h) & ~1), size.height)
    scaled = Frame.from_av(frame.to_av(), inner)
    out = new_buffer(size)
    fill(out, size, (Y_BLACK, C_ZERO, C_ZERO))
    x0 = ((size.width - inner.width) // 2) & ~1
    y0 = ((size.height - inner.height) // 2) & ~1
    out[y0 : y0 + inner.height, x0 : x0 + inner.width] = scaled.y
    for index, plane in ((0, scaled.u), (1, scaled.v)):
        dst = _chroma(out, size.width, size.height, index)
        dst[y0 // 2 : y0 // 2 + inner.height // 2, x0 // 2 : x0 // 2 + inner.width // 2] = plane
    return Frame(out)
