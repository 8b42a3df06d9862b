"""Who has joined the show by a link: camera, name, how long its phone has been connected
(or that it is not, with when it joined), and its last acknowledgement.

Fed by the session link's events (the phones poll's PhonesChanged, the relay's
MessageAcked); `tick` refreshes the time columns without asking anyone anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from app.session_link import events as ev
from app.session_link.cloud_api import Participant

COL_CAMERA, COL_NAME, COL_CONNECTED, COL_ACK = range(4)
CREW_HEADERS = ("Camera", "Name", "Connected", "Last ack")

Index = QModelIndex | QPersistentModelIndex


def ago(seconds: float) -> str:
    """How long, in the director's words: "12 s", "5 min", "1 h 20 min"."""
    seconds = max(0, int(seconds))
    tr = QCoreApplication.translate
    if seconds < 60:
        return tr("CrewModel", "{0} s").format(seconds)
    minutes = seconds // 60
    if minutes < 60:
        return tr("CrewModel", "{0} min").format(minutes)
    return tr("CrewModel", "{0} h {1} min").format(minutes // 60, minutes % 60)


def _ended(event: object) -> bool:
    return isinstance(event, ev.SessionUpdated) and event.session is None


class CrewModel(QAbstractTableModel):
    def __init__(
        self, parent: QObject | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self.phones: tuple[Participant, ...] = ()
        self.acks: dict[int, float] = {}  # camera -> when its phone last acknowledged

    def apply(self, event: object) -> None:
        if isinstance(event, ev.PhonesChanged):
            rows = tuple(p for p in event.participants if p.role != "director")
            rows = tuple(sorted(rows, key=lambda p: (p.role != "camera", p.camera_number or 0)))
            if rows != self.phones:
                self.beginResetModel()
                self.phones = rows
                self.endResetModel()
        elif isinstance(event, ev.MessageAcked):
            self.acks[event.camera] = self._clock()
            self.tick()
        elif isinstance(event, ev.SessionChosen | ev.LoginChanged) or _ended(event):
            self.beginResetModel()
            self.phones, self.acks = (), {}
            self.endResetModel()

    def tick(self) -> None:
        """The clock moved: redraw how long ago."""
        if self.phones:
            self.dataChanged.emit(
                self.index(0, COL_CONNECTED), self.index(len(self.phones) - 1, COL_ACK)
            )

    def _last_ack(self, p: Participant) -> float | None:
        """The relay's acks as they come, or what the backend last saw of this phone."""
        heard = self.acks.get(p.camera_number or 0) if p.role == "camera" else None
        polled = p.last_ack_at.timestamp() if p.last_ack_at is not None else None
        known = [t for t in (heard, polled) if t is not None]
        return max(known) if known else None

    def phone(self, row: int) -> Participant | None:
        return self.phones[row] if 0 <= row < len(self.phones) else None

    # --- Qt -------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.phones)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(CREW_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return QCoreApplication.translate("CrewModel", CREW_HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        p = self.phone(index.row())
        if p is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_CONNECTED and p.joined_at:
            joined = ago(self._clock() - p.joined_at.timestamp())
            return QCoreApplication.translate("CrewModel", "joined by the link {0} ago").format(
                joined
            )
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_CONNECTED:
            return QColor("#888888") if p.connected_since is None else None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == COL_CAMERA:
            if p.role == "viewer":
                return QCoreApplication.translate("CrewModel", "Viewer")
            return str(p.camera_number) if p.camera_number is not None else "—"
        if col == COL_NAME:
            return p.display_name
        if col == COL_CONNECTED:
            if p.connected_since is None:
                return QCoreApplication.translate("CrewModel", "not connected")
            return ago(self._clock() - p.connected_since.timestamp())
        if col == COL_ACK:
            acked = self._last_ack(p)
            return ago(self._clock() - acked) if acked is not None else "—"
        return None
