"""QR codes for phone links: segno draws the code, Qt shows it as a pixmap."""

from __future__ import annotations

import io

import segno
from PySide6.QtGui import QPixmap


def qr_pixmap(text: str, size: int = 180) -> QPixmap:
    """A QR code of `text`, about `size` pixels square, dark on white with a quiet zone."""
    code = segno.make(text, error="m", micro=False)
    modules = code.symbol_size(scale=1, border=2)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, size // modules), border=2)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap
