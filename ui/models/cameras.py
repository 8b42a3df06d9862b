"""The phone cameras as a table: number and name, mapped source, lamp, phones joined."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from app.engine import events as ev
from app.engine.state import ShowState
from tally import BusState, Camera, Lamp, derive_lamps

from .link import LinkModel

COL_CAMERA, COL_SOURCE, COL_LAMP, COL_PHONES = range(4)
HEADERS = ("Camera", "Source", "Tally", "Phones")
LAMP_COLOURS = {Lamp.PROGRAM: "#ff4a40", Lamp.PREVIEW: "#38d45a", Lamp.OFF: "#7c858f"}

Index = QModelIndex | QPersistentModelIndex


class CamerasModel(QAbstractTableModel):
    def __init__(self, link: LinkModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self.cameras: tuple[Camera, ...] = ()
        self.live_only = False
        self._lamps: dict[int, Lamp] = {}
        self._bus = BusState((), ())
        self._labels: dict[str, str] = {}
        link.phonesChanged.connect(self._phones_changed)

    def reset(self, state: ShowState) -> None:
        self._labels = {s.name: s.title for s in state.sources}
        self._set(state.cameras, state.live_only, state.bus_state())

    def apply(self, event: object) -> None:
        if isinstance(event, ev.CamerasChanged):
            self._set(event.cameras, event.live_only, self._bus)
        elif isinstance(event, ev.TallyChanged):
            self._bus = event.bus
            self._lamps = self._derive()
            if self.cameras:
                col = self.index(0, COL_LAMP), self.index(len(self.cameras) - 1, COL_LAMP)
                self.dataChanged.emit(*col)
        elif isinstance(event, ev.SourcesChanged):
            self._labels = {s.name: s.title for s in event.sources}

    def _set(self, cameras: tuple[Camera, ...], live_only: bool, bus: BusState) -> None:
        self.beginResetModel()
        self.cameras, self.live_only, self._bus = cameras, live_only, bus
        self._lamps = self._derive()
        self.endResetModel()

    def _derive(self) -> dict[int, Lamp]:
        # The product's one lamp derivation, so the table shows what the phones show.
        lamps = derive_lamps(self._bus, self.cameras, self.live_only)
        return {entry.camera: entry.lamp for entry in lamps}

    def _phones_changed(self) -> None:
        if self.cameras:
            top, bottom = self.index(0, COL_PHONES), self.index(len(self.cameras) - 1, COL_PHONES)
            self.dataChanged.emit(top, bottom)

    def lamp(self, number: int) -> Lamp:
        return self._lamps.get(number, Lamp.OFF)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.cameras)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.cameras):
            return None
        cam = self.cameras[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_CAMERA:
                return f"{cam.number} · {cam.name}"
            if column == COL_SOURCE:
                return self._labels.get(cam.source, cam.source) if cam.source else "—"
            if column == COL_LAMP:
                return self.tr(self.lamp(cam.number).value.upper())
            if column == COL_PHONES:
                return str(self._link.phones_by_camera.get(cam.number, 0))
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_LAMP:
            return QColor(LAMP_COLOURS[self.lamp(cam.number)])
        if role == Qt.ItemDataRole.UserRole:
            return cam.number
        return None
