"""The multiview: every source in a grid, numbered like the buttons, with tally borders."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from app.engine.state import SourceInfo

from ..models.switcher import SwitcherModel
from .pump import Feed, FramePump
from .view import VideoView


def columns_for(count: int) -> int:
    return (
        1 if count <= 1 else 2 if count <= 4 else 4 if count <= 8 else math.ceil(math.sqrt(count))
    )


class Multiview(QWidget):
    previewRequested = Signal(str)
    programRequested = Signal(str)

    def __init__(
        self,
        model: SwitcherModel,
        pump: FramePump,
        feed_for: Callable[[str], Feed],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._pump = pump
        self._feed_for = feed_for
        self.tiles: dict[str, VideoView] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        model.sourcesChanged.connect(self._rebuild)
        model.busChanged.connect(self._retally)
        self._rebuild()

    def _rebuild(self) -> None:
        for tile in self.tiles.values():
            self._pump.remove(tile)
            tile.deleteLater()
        self.tiles = {}
        sources = self._model.sources
        cols = columns_for(len(sources))
        for index, info in enumerate(sources):
            tile = self._tile(index + 1, info)
            self._grid.addWidget(tile, index // cols, index % cols)
            self.tiles[info.name] = tile
        self._retally()

    def _tile(self, number: int, info: SourceInfo) -> VideoView:
        tile = VideoView(info.title, border=3)
        tile.badge = str(number) if number <= 9 else ""
        tile.setToolTip(self.tr("Click: preview · Double-click: program"))
        tile.clicked.connect(lambda name=info.name: self.previewRequested.emit(name))
        tile.doubleClicked.connect(lambda name=info.name: self.programRequested.emit(name))
        self._pump.add(tile, self._feed_for(info.name), every=4, fast=True)
        return tile

    def _retally(self) -> None:
        for name, tile in self.tiles.items():
            tile.set_tally(self._model.tally(name))
