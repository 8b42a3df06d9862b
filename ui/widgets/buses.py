"""Program and preview bus rows: one button per source, lit like a hardware panel."""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QGridLayout, QLabel, QPushButton, QWidget

from app.engine.commands import SetPreview, SetProgram

from ..bridge import Bridge
from ..models.switcher import SwitcherModel

BUTTON_MIN_WIDTH = 32  # a long name is cut short; the tooltip has it whole


class BusRows(QWidget):
    def __init__(self, model: SwitcherModel, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._bridge = bridge
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(6)
        self.program: dict[str, QPushButton] = {}
        self.preview: dict[str, QPushButton] = {}
        self._groups: list[QButtonGroup] = []
        model.sourcesChanged.connect(self._rebuild)
        model.busChanged.connect(self._relight)
        self._rebuild()

    def _rebuild(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        self.program, self.preview = {}, {}
        self._grid.addWidget(self._row_label(self.tr("PGM")), 0, 0)
        self._grid.addWidget(self._row_label(self.tr("PVW")), 1, 0)
        for column, info in enumerate(self._model.sources, start=1):
            number = f"{column}  " if column <= 9 else ""
            for row, (buttons, kind) in enumerate(
                ((self.program, "busProgram"), (self.preview, "busPreview"))
            ):
                button = QPushButton(f"{number}{info.title}")
                button.setObjectName(kind)
                button.setCheckable(True)
                button.setToolTip(info.title)
                button.setMinimumWidth(BUTTON_MIN_WIDTH)  # 16 sources still fit the window
                button.clicked.connect(lambda _=False, n=info.name, r=row: self._pressed(n, r))
                self._grid.addWidget(button, row, column)
                buttons[info.name] = button
        self._relight()

    def _row_label(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("sectionTitle")
        return label

    def _pressed(self, name: str, row: int) -> None:
        self._bridge.submit(SetProgram(name) if row == 0 else SetPreview(name))
        self._relight()  # undo the button's own toggle until the engine says otherwise

    def _relight(self) -> None:
        for name, button in self.program.items():
            button.setChecked(name in self._model.on_air)
        for name, button in self.preview.items():
            button.setChecked(name == self._model.preview)
