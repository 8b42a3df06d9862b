"""A vertical peak meter: green to -18 dBFS, amber to -6, red above; with peak hold."""

from __future__ import annotations

import time

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
HOLD_S = 1.5
ZONES = ((-18.0, QColor("#2fbf4a")), (-6.0, QColor("#e0a020")), (0.0, QColor("#ff3b30")))


def fraction(db: float) -> float:
    return min(1.0, max(0.0, (db - FLOOR_DB) / -FLOOR_DB))


class Meter(QWidget):
    def __init__(self, channels: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._levels = [FLOOR_DB] * channels
        self._holds = [(FLOOR_DB, 0.0)] * channels
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(80)

    def sizeHint(self) -> QSize:
        return QSize(6 * len(self._levels) + 4, 140)

    def set_levels(self, peaks_dbfs: tuple[float, ...]) -> None:
        now = time.monotonic()
        levels = list(peaks_dbfs[: len(self._levels)]) + [FLOOR_DB] * (
            len(self._levels) - len(peaks_dbfs)
        )
        for i, level in enumerate(levels):
            hold, at = self._holds[i]
            if level >= hold or now - at > HOLD_S:
                self._holds[i] = (level, now)
        if levels != self._levels:
            self._levels = levels
            self.update()

    @property
    def levels(self) -> list[float]:
        return list(self._levels)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, QColor("#0b0c0e"))
        count = len(self._levels)
        width = max(2, (rect.width() - (count + 1)) // count)
        for i, level in enumerate(self._levels):
            x = 1 + i * (width + 1)
            self._paint_bar(
                painter, QRect(x, 1, width, rect.height() - 2), level, self._holds[i][0]
            )
        painter.end()

    def _paint_bar(self, painter: QPainter, bar: QRect, level: float, hold: float) -> None:
        bottom = bar.bottom()
        lower = FLOOR_DB
        for top_db, colour in ZONES:
            if level <= lower:
                break
            y_top = bottom - round(fraction(min(level, top_db)) * bar.height())
            y_low = bottom - round(fraction(lower) * bar.height())
            painter.fillRect(QRect(bar.left(), y_top, bar.width(), y_low - y_top), colour)
            lower = top_db
        if hold > FLOOR_DB:
            y = bottom - round(fraction(hold) * bar.height())
            painter.fillRect(QRect(bar.left(), y, bar.width(), 2), QColor("#f2f4f6"))
