"""Blending I420 pictures in numpy: dissolve, dip and fade, with buffers reused per tick.

The weight of the second picture is w in 1/256 steps (finer than any visible
step), out = (a * (256 - w) + b * w + 128) >> 8 in uint16, so a
50 % mix is the rounded mean. Blending in Y'CbCr is the same as blending in RGB
because the conversion is affine and the weights sum to one.
"""

from __future__ import annotations

import numpy as np

from media.frames import Frame, Size, new_buffer, solid
from media.switcher import RGB, SwitcherState, TransitionKind


class Blender:
    def __init__(self, size: Size) -> None:
        self.size = size
        shape = (size.height * 3 // 2, size.width)
        self._acc = np.empty(shape, np.uint16)
        self._tmp = np.empty(shape, np.uint16)
        self._solids: dict[RGB, Frame] = {}

    def solid(self, rgb: RGB) -> Frame:
        frame = self._solids.get(rgb)
        if frame is None:
            frame = self._solids[rgb] = solid(self.size, rgb)
        return frame

    def blend(self, a: Frame, b: Frame, t: float) -> Frame:
        """`a` faded into `b` by `t` (0 = all a, 1 = all b)."""
        w = round(t * 256)
        if w <= 0:
            return a
        if w >= 256:
            return b
        acc, tmp = self._acc, self._tmp
        np.multiply(a.data, np.uint16(256 - w), out=acc)
        np.multiply(b.data, np.uint16(w), out=tmp)
        acc += tmp
        acc += 128
        acc >>= 8
        out = new_buffer(self.size)  # a new picture per tick: consumers may still hold the last
        np.copyto(out, acc, casting="unsafe")
        return Frame(out)

    def compose(self, state: SwitcherState, pts: int, pictures: dict[str, Frame]) -> Frame:
        """The program picture at `pts` from each source's picture at working size."""
        black = self.solid((0, 0, 0))
        program = pictures.get(state.program or "", black)
        t = state.transition
        if t is not None:
            target = pictures.get(t.target, black)
            p = t.progress(pts)
            if t.kind is TransitionKind.DIP:
                color = self.solid(t.color)
                if p < 0.5:
                    program = self.blend(program, color, 2 * p)
                else:
                    program = self.blend(color, target, 2 * p - 1)
            else:
                program = self.blend(program, target, p)
        level = state.black_level(pts)
        return self.blend(program, black, level) if level > 0 else program
