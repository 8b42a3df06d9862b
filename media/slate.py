"""The picture a lost source shows: "NO SIGNAL" and the source's name."""

from __future__ import annotations

from media.font import GLYPH_H, draw_text, text_width
from media.frames import U8, Frame, Size, fill, new_buffer

_BACKGROUND_Y = 44
_TEXT_Y = 200
_NAME_Y = 150


def render_slate(name: str, size: Size, message: str = "NO SIGNAL") -> Frame:
    buffer = new_buffer(size)
    fill(buffer, size, (_BACKGROUND_Y, 128, 128))
    luma = buffer[: size.height]
    big = max(1, min(size.width // (text_width(message, 1) + 12), size.height // 40))
    small = max(1, big // 2)
    _centered(luma, message, size.height // 2 - GLYPH_H * big, big, _TEXT_Y)
    _centered(luma, name, size.height // 2 + GLYPH_H * small, small, _NAME_Y)
    return Frame(buffer)


def _centered(luma: U8, text: str, y: int, scale: int, value: int) -> None:
    width = luma.shape[1]
    # Long names are cut rather than shrunk so the slate stays readable.
    while len(text) > 1 and text_width(text, scale) > width - 2 * scale:
        text = text[:-1]
    draw_text(luma, text, (width - text_width(text, scale)) // 2, y, scale, value)
