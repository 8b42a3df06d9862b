"""I420 frames to QImages in one libswscale pass: colour conversion and scaling together.

No per-pixel Python: PyAV's reformat converts and scales in C, straight to the size the
widget paints, so Qt never rescales. The result is copied into a QImage that owns its
memory; wrapping numpy's buffer in a QImage instead trips a reference-count bug in
PySide6's buffer constructor (a "deallocating None" abort seen under load), and one
memcpy of a monitor-sized picture costs far less than the conversion.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from media.frames import Frame


def fit(frame_w: int, frame_h: int, box: QSize) -> QSize:
    """The largest size with the frame's aspect ratio inside `box` (even, at least 2x2)."""
    if box.width() <= 0 or box.height() <= 0:
        return QSize(2, 2)
    scale = min(box.width() / frame_w, box.height() / frame_h)
    return QSize(max(2, int(frame_w * scale) & ~1), max(2, int(frame_h * scale) & ~1))


def to_image(frame: Frame, size: QSize, *, fast: bool = False) -> QImage:
    w, h = size.width(), size.height()
    rgb = frame.to_av().reformat(
        width=w, height=h, format="rgb24", interpolation="FAST_BILINEAR" if fast else "BILINEAR"
    )
    pixels = rgb.to_ndarray()
    image = QImage(w, h, QImage.Format.Format_RGB888)
    target = np.frombuffer(image.bits(), np.uint8).reshape(h, image.bytesPerLine())
    target[:, : w * 3] = pixels.reshape(h, w * 3)
    return image
