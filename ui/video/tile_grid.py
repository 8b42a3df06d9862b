"""Places 16:9 tiles in the shape that makes them largest, centred in the space given.

Placed by hand rather than by a QGridLayout: a layout sizes cells from the tiles' own
hints, so the grid's share of the window would change with the layout picked; here the
share is fixed and only the tiles inside it change.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from .grid import ASPECT, grid_shape

SPACING = 4
MIN_TILE_HEIGHT = 54


class TileGrid(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cells: list[QWidget] = []
        self.shape = (1, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_cells(self, cells: list[QWidget]) -> None:
        for cell in self.cells:
            if cell not in cells:
                cell.hide()
                cell.setParent(None)
                cell.deleteLater()
        self.cells = cells
        for cell in cells:
            cell.setParent(self)
            cell.setMinimumSize(0, 0)
            cell.show()
        self.place()

    def place(self) -> None:
        count = max(1, len(self.cells))
        width, height = self.width(), self.height()
        cols, rows = self.shape = grid_shape(count, width, height, SPACING)
        cell_w = (width - SPACING * (cols - 1)) / cols
        cell_h = (height - SPACING * (rows - 1)) / rows
        tile_w = int(min(cell_w, cell_h * ASPECT))
        tile_h = int(tile_w / ASPECT)
        left = (width - cols * tile_w - (cols - 1) * SPACING) // 2
        top = (height - rows * tile_h - (rows - 1) * SPACING) // 2
        for index, cell in enumerate(self.cells):
            row, col = divmod(index, cols)
            x = left + col * (tile_w + SPACING)
            y = top + row * (tile_h + SPACING)
            cell.setGeometry(QRect(x, y, tile_w, tile_h))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.place()

    def sizeHint(self) -> QSize:
        return QSize(640, 300)

    def minimumSizeHint(self) -> QSize:
        # Two rows of small tiles: any layout fits, eight across.
        return QSize(320, 2 * MIN_TILE_HEIGHT + SPACING)
