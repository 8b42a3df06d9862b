"""The test pattern picture: scrolling bars, a moving box, the source name and a stamp.

Everything that does not move is rendered once at construction; a frame is then
a few slice copies, so eight of these at 60 fps cost little CPU.

With `grain`, moving noise covers the picture (the stamp stays clean): the bars alone
compress to about a third of the hi layer's bitrate, so latency and loss measured on them
would see a third of the packets a camera's picture sends. Grained, the encoder runs at
its real rate (hard content, as bench/encode.py's noisy picture).
"""

from __future__ import annotations

import numpy as np

from media.font import GLYPH_H, draw_text, text_width
from media.frames import C_ZERO, Y_BLACK, Y_WHITE, Frame, Size, new_buffer, rgb_to_yuv
from media.stamp import draw_stamp, stamp_height

# 75 % colour bars, the classic order.
_BARS = (
    (191, 191, 191),
    (191, 191, 0),
    (0, 191, 191),
    (0, 191, 0),
    (191, 0, 191),
    (191, 0, 0),
    (0, 0, 191),
    (0, 0, 0),
)


class PatternRenderer:
    """Renders frame `index` of the pattern; pure apart from the stamp value passed in."""

    def __init__(self, name: str, size: Size, *, stamp: bool = True, grain: bool = False) -> None:
        self.size = size
        self._stamp = stamp
        self._grain = _grain_planes(size) if grain else None
        w, h = size.width, size.height
        bar_w = max(2, (w // len(_BARS)) & ~1)
        # Twice the width so a scrolled window is one contiguous slice, never a wrap.
        # Bars are vertical, so one row describes the whole background: a frame
        # broadcasts it, reading a few KB instead of a whole picture per frame.
        columns = np.arange(2 * w) // bar_w % len(_BARS)
        table = np.array([rgb_to_yuv(c) for c in _BARS], np.uint8)
        self._y = table[columns, 0]
        self._u = table[columns[::2], 1]
        self._v = table[columns[::2], 2]
        self._step = max(2, (w // 320) * 2)
        self._box = max(4, (h // 8) & ~1)
        self._top = stamp_height(size) if stamp else 0
        scale = max(1, h // 90)
        label_h = (GLYPH_H + 4) * scale
        label_w = min(w, text_width(name, scale) + 4 * scale)
        self._label_y = (h - label_h - 2 * scale) & ~1
        self._label = np.full((label_h, label_w), Y_BLACK, np.uint8)
        draw_text(self._label, name, 2 * scale, 2 * scale, scale, Y_WHITE)
        self._label_x = ((w - label_w) // 2) & ~1

    def render(self, index: int, stamp_value: int = 0) -> Frame:
        w, h = self.size.width, self.size.height
        out = new_buffer(self.size)
        off = (index * self._step) % w & ~1
        out[:h] = self._y[off : off + w]
        flat = out.reshape(-1)
        quarter = (h // 2) * (w // 2)
        u = flat[w * h : w * h + quarter].reshape(h // 2, w // 2)
        v = flat[w * h + quarter :].reshape(h // 2, w // 2)
        u[:] = self._u[off // 2 : off // 2 + w // 2]
        v[:] = self._v[off // 2 : off // 2 + w // 2]
        self._draw_box(out, u, v, index)
        lh, lw = self._label.shape
        ly, lx = self._label_y, self._label_x
        out[ly : ly + lh, lx : lx + lw] = self._label
        u[ly // 2 : (ly + lh) // 2, lx // 2 : (lx + lw) // 2] = C_ZERO
        v[ly // 2 : (ly + lh) // 2, lx // 2 : (lx + lw) // 2] = C_ZERO
        if self._grain is not None:
            noise = self._grain[index % len(self._grain)]
            np.clip(out.astype(np.int16) + noise, 0, 255, out=out, casting="unsafe")
        if self._stamp:
            draw_stamp(out, self.size, stamp_value)
        return Frame(out)

    def _draw_box(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, index: int) -> None:
        w, h, box = self.size.width, self.size.height, self._box
        span_x, span_y = w - box, max(1, h - box - self._top)
        # A triangle wave: the box bounces instead of jumping back to the edge.
        px = abs((index * self._step) % (2 * span_x) - span_x) & ~1
        py = (self._top + abs((index * self._step // 2) % (2 * span_y) - span_y)) & ~1
        y[py : py + box, px : px + box] = Y_WHITE
        u[py // 2 : (py + box) // 2, px // 2 : (px + box) // 2] = C_ZERO
        v[py // 2 : (py + box) // 2, px // 2 : (px + box) // 2] = C_ZERO


# Noise planes cycled through: more than x264 keeps as references, so no frame can be
# predicted from an earlier one with the same grain. Sigma 8, as bench/encode.py's
# `noise=alls=8`. Seeded: the same picture every run.
_GRAIN_PLANES = 17
_GRAIN_SIGMA = 8.0


def _grain_planes(size: Size) -> np.ndarray:
    rng = np.random.default_rng(1)
    shape = (_GRAIN_PLANES, size.height * 3 // 2, size.width)
    noise = rng.normal(0.0, _GRAIN_SIGMA, shape).round().clip(-40, 40)
    return noise.astype(np.int16)
