"""The strip above the multiview: layout buttons, sources left out, on-air time, clock."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget

from app.engine.state import SourceInfo

from .grid import LAYOUTS
from .onair import Clocks, OnAirTimer, duration, time_of_day

REFRESH_MS = 250  # the clock's seconds turn over within a quarter second


class MultiviewBar(QWidget):
    layoutPicked = Signal(int)

    def __init__(self, clocks: Clocks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clocks = clocks
        self.on_air_timer = OnAirTimer(clocks)
        self._program_title = ""
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        caption = QLabel(self.tr("Multiview"))
        caption.setObjectName("sectionTitle")
        row.addWidget(caption)
        self.layouts: dict[int, QPushButton] = {}
        group = QButtonGroup(self)
        for count in LAYOUTS:
            button = QPushButton(str(count))
            button.setCheckable(True)
            button.setToolTip(self.tr("Show {0} sources").format(count))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # number keys belong to the hotkeys
            button.clicked.connect(lambda _=False, n=count: self.layoutPicked.emit(n))
            group.addButton(button)
            row.addWidget(button)
            self.layouts[count] = button
        self.left_out = QLabel()
        self.left_out.setObjectName("error")
        row.addWidget(self.left_out, 1)
        self.on_air = QLabel()
        self.on_air.setObjectName("bigStat")
        self.clock = QLabel()
        self.clock.setObjectName("bigStat")
        row.addWidget(self.on_air)
        row.addSpacing(16)
        row.addWidget(self.clock)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def show_layout(self, count: int) -> None:
        self.layouts[count].setChecked(True)

    def show_left_out(self, first: int, left_out: tuple[SourceInfo, ...], layout: int) -> None:
        """Say which sources have no tile (numbered as on the buses), never drop them quietly."""
        if not left_out:
            self.left_out.setText("")
            self.left_out.setToolTip("")
            return
        last = first + len(left_out) - 1
        numbers = str(first) if last == first else f"{first}-{last}"
        if layout < max(LAYOUTS):
            text = self.tr("Sources {0} not shown: pick a bigger layout (still on the buses)")
        else:
            text = self.tr("Sources {0} not shown: the multiview holds 16 (still on the buses)")
        self.left_out.setText(text.format(numbers))
        self.left_out.setToolTip(
            "\n".join(f"{n} {info.title}" for n, info in enumerate(left_out, start=first))
        )

    def show_program(self, source: str | None, title: str) -> None:
        self.on_air_timer.program(source)
        self._program_title = title
        self.refresh()

    def refresh(self) -> None:
        title = self._program_title or "—"
        seconds = self.on_air_timer.seconds()
        self.on_air.setText(self.tr("ON AIR {0} {1}").format(title, duration(seconds)))
        self.clock.setText(time_of_day(self.clocks))
