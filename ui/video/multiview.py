"""The multiview: 4, 9 or 16 tiles of sources, numbered like the buttons, with tally borders.

Drawn here, from each source's own slot, not composed by the program clock: the program
output never pays for the multiview. Sources beyond the chosen layout keep their place on
the buses and hotkeys, and the bar above the grid names them. A tile whose source lost its
signal, or that the core no longer has, says so over the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.engine.state import SourceInfo
from media.sources.base import SourceState

from ..models.switcher import SwitcherModel
from .grid import DEFAULT_LAYOUT, LAYOUTS
from .multiview_bar import MultiviewBar
from .onair import Clocks
from .pump import Feed, FramePump
from .tile_grid import SPACING, TileGrid
from .view import VideoView

STATE_CHECK_MS = 500
# Frames the tiles convert per second, all together. Each conversion reads a whole source
# frame on the UI thread, whose GIL the program clock shares: with 16 tiles at 30 fps the
# window's process took 102-112 % of a core and the clock was late on 7-11 % of its ticks;
# at this budget 77-95 % and 4-12 % (bench/ui_pacing.py --sources 16, three runs each on a
# shared 2-core VM under load 1.3-3: the CPU figure is the steadier one). 16 tiles then
# show ~15 fps, 9 tiles 25, up to 8 tiles 30.
TILE_FRAMES_PER_S = 250
FASTEST_TILE_EVERY = 4  # pump ticks: ~30 fps at the pump's 8 ms


class UnknownLayout(ValueError):
    """A multiview layout other than 4, 9 or 16 tiles."""


class Multiview(QWidget):
    previewRequested = Signal(str)
    programRequested = Signal(str)
    layoutPicked = Signal(int)  # the director chose a layout in the bar (already shown)

    def __init__(
        self,
        model: SwitcherModel,
        pump: FramePump,
        feed_for: Callable[[str], Feed],
        state_for: Callable[[str], SourceState | None],
        *,
        layout: int = DEFAULT_LAYOUT,
        clocks: Clocks | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._pump = pump
        self._feed_for = feed_for
        self._state_for = state_for
        self.layout_size = _checked(layout)
        self.tiles: dict[str, VideoView] = {}  # by source name, in bus order
        self.left_out: tuple[SourceInfo, ...] = ()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(SPACING)
        self.bar = MultiviewBar(clocks or Clocks())
        self.bar.layoutPicked.connect(self._picked)
        column.addWidget(self.bar)
        self.grid = TileGrid()
        column.addWidget(self.grid, 1)
        model.sourcesChanged.connect(self._rebuild)
        model.busChanged.connect(self._retally)
        self._states = QTimer(self)
        self._states.setInterval(STATE_CHECK_MS)
        self._states.timeout.connect(self.check_sources)
        self._states.start()
        self._rebuild()

    def set_layout(self, count: int) -> None:
        """Show `count` tiles (4, 9 or 16); raises UnknownLayout for anything else."""
        count = _checked(count)
        if count != self.layout_size:
            self.layout_size = count
            self._rebuild()

    def check_sources(self) -> None:
        """Mark tiles whose source has lost its signal or is gone from the core."""
        for name, tile in self.tiles.items():
            state = self._state_for(name)
            if state is None:
                tile.set_note(self.tr("SOURCE GONE"))
            elif state is SourceState.LOST:
                tile.set_note(self.tr("NO SIGNAL"))
            else:
                tile.set_note("")

    def _picked(self, count: int) -> None:
        self.set_layout(count)
        self.layoutPicked.emit(count)

    def _rebuild(self) -> None:
        for tile in self.tiles.values():
            self._pump.remove(tile)
        sources = self._model.sources
        shown = sources[: self.layout_size]
        self.left_out = sources[self.layout_size :]
        every = tile_every(len(shown), self._pump.ticks_per_second)
        self.tiles = {
            info.name: self._tile(n, info, every) for n, info in enumerate(shown, start=1)
        }
        empty = [VideoView(caption=False) for _ in range(self.layout_size - len(shown))]
        self.grid.set_cells([*self.tiles.values(), *empty])
        self.bar.show_layout(self.layout_size)
        self.bar.show_left_out(len(shown) + 1, self.left_out, self.layout_size)
        self._retally()
        self.check_sources()

    def _tile(self, number: int, info: SourceInfo, every: int) -> VideoView:
        tile = VideoView(info.title, border=2)
        tile.badge = str(number)
        tile.setToolTip(self.tr("Click: preview · Double-click: program"))
        tile.clicked.connect(lambda name=info.name: self.previewRequested.emit(name))
        tile.doubleClicked.connect(lambda name=info.name: self.programRequested.emit(name))
        self._pump.add(tile, self._feed_for(info.name), every=every, fast=True)
        return tile

    def _retally(self) -> None:
        for name, tile in self.tiles.items():
            tile.set_tally(self._model.tally(name))
        program = self._model.program
        info = next((s for s in self._model.sources if s.name == program), None)
        self.bar.show_program(program, info.title if info is not None else program or "")


def tile_every(tiles: int, ticks_per_second: float) -> int:
    """Pull each tile on every n-th pump tick so all tiles together keep to the budget."""
    return max(FASTEST_TILE_EVERY, math.ceil(tiles * ticks_per_second / TILE_FRAMES_PER_S))


def _checked(count: int) -> int:
    if count not in LAYOUTS:
        raise UnknownLayout(f"a multiview shows {', '.join(map(str, LAYOUTS))} tiles, not {count}")
    return count
