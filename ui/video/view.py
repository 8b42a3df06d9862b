"""A video tile: the picture, its name, and a tally border - red on air, green on preview.

The border and the caption grow with the tile, so a tally reads as clearly on a 4-tile
multiview as on a 16-tile one, and a name stays legible on the smallest tile.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .convert import fit

TALLY_COLOURS = {"program": QColor("#ff3b30"), "preview": QColor("#30d158")}
IDLE_BORDER = QColor("#2a2e34")
ASPECT = (16, 9)
BORDER_PER_HEIGHT = 40  # a tally border one 40th of the tile's height, at least `border`
CAPTION_PER_HEIGHT = 9
CAPTION_MIN, CAPTION_MAX = 14, 36  # caption bar height, pixels


class VideoView(QWidget):
    clicked = Signal()
    doubleClicked = Signal()

    def __init__(
        self,
        title: str = "",
        *,
        border: int = 3,  # the tally border's width on the smallest tile
        caption: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.badge = ""  # a number or a word drawn in the corner, e.g. the button number
        self.tally: str | None = None
        self.note = ""  # e.g. "NO SIGNAL" or "FTB", drawn in the middle-top
        self._border = border
        self._caption = caption
        self._image: QImage | None = None
        self.shown_key: object = None
        self.on_paint: Callable[[object, float], None] | None = None  # benchmarks hook in here
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)

    # --- what the pump asks and gives --------------------------------------------------

    def picture_size(self) -> QSize:
        """The size frames should be converted to: the 16:9 area inside the border."""
        b = self.border_width()
        return fit(*ASPECT, self.rect().adjusted(b, b, -b, -b).size())

    def border_width(self) -> int:
        """The tally border's width at this size."""
        return max(self._border, self.height() // BORDER_PER_HEIGHT)

    def caption_height(self) -> int:
        return max(CAPTION_MIN, min(CAPTION_MAX, self.height() // CAPTION_PER_HEIGHT))

    def caption_font_px(self) -> int:
        return max(9, self.caption_height() * 5 // 8)

    def set_image(self, image: QImage | None, key: object) -> None:
        self._image = image
        self.shown_key = key
        self.update()

    def set_tally(self, tally: str | None) -> None:
        if tally != self.tally:
            self.tally = tally
            self.update()

    def set_title(self, title: str, badge: str = "") -> None:
        self.title, self.badge = title, badge
        self.update()

    def set_note(self, note: str) -> None:
        if note != self.note:
            self.note = note
            self.update()

    # --- painting -------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, QColor("#050607"))
        area = QRect(rect.topLeft(), self.picture_size())
        area.moveCenter(rect.center())
        image = self._image
        if image is not None:
            target = QRect(area.topLeft(), image.size())
            target.moveCenter(area.center())
            painter.drawImage(target, image)
        self._paint_border(painter, rect)
        if self._caption:
            self._paint_caption(painter, rect)
        if self.note:
            self._paint_note(painter, area)
        painter.end()
        if self.on_paint is not None:
            self.on_paint(self.shown_key, time.monotonic())

    def _paint_border(self, painter: QPainter, rect: QRect) -> None:
        colour = TALLY_COLOURS.get(self.tally or "", IDLE_BORDER)
        width = self.border_width() if self.tally else 1
        pen = QPen(colour, width)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        half = width / 2
        painter.drawRect(rect.adjusted(int(half), int(half), -int(half + 0.5), -int(half + 0.5)))

    def _paint_caption(self, painter: QPainter, rect: QRect) -> None:
        height, border = self.caption_height(), self.border_width()
        bar = QRect(
            rect.left() + border,
            rect.bottom() - height - border + 1,
            rect.width() - 2 * border,
            height,
        )
        painter.fillRect(bar, QColor(0, 0, 0, 170))
        font = QFont(self.font())
        font.setPixelSize(self.caption_font_px())
        font.setBold(True)
        painter.setFont(font)
        text_rect = bar.adjusted(8, 0, -8, 0)
        if self.badge:
            badge_colour = TALLY_COLOURS.get(self.tally or "", QColor("#9aa3ad"))
            painter.setPen(badge_colour)
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.badge
            )
            text_rect = text_rect.adjusted(
                painter.fontMetrics().horizontalAdvance(self.badge) + 8, 0, 0, 0
            )
        painter.setPen(QColor("#f2f4f6"))
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.title
        )

    def _paint_note(self, painter: QPainter, area: QRect) -> None:
        font = QFont(self.font())
        font.setPixelSize(max(11, area.height() // 12))
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        box = QRect(0, 0, metrics.horizontalAdvance(self.note) + 20, metrics.height() + 8)
        box.moveTopRight(QPoint(area.right() - 10, area.top() + 10))
        painter.fillRect(box, QColor("#b3221c"))
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.note)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.doubleClicked.emit()

    def heightForWidth(self, width: int) -> int:
        return width * ASPECT[1] // ASPECT[0]

    def hasHeightForWidth(self) -> bool:
        return True
