"""The chosen session's recordings as a table (start, duration, size, state), and the words
for a recording's state. The rows come from the core's RecordingsListed events (the on-air
poll, or a listing the window asked for) through the link model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from app.session_link.recording_info import Recording

from .link import LinkModel

COL_STARTED, COL_DURATION, COL_SIZE, COL_STATE = range(4)
HEADERS = ("Started", "Duration", "Size", "State")
Index = QModelIndex | QPersistentModelIndex


def duration_text(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def size_text(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


class RecordingsModel(QAbstractTableModel):
    def __init__(self, link: LinkModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self.rows: tuple[Recording, ...] = ()
        link.recordingsChanged.connect(self._changed)
        link.sessionChanged.connect(self._changed)

    def _changed(self) -> None:
        listing = self._link.recordings
        rows = listing.recordings[::-1] if listing is not None else ()  # newest first
        if rows != self.rows:
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        if index.row() >= len(self.rows):
            return None
        rec = self.rows[index.row()]
        column = index.column()
        if column == COL_STARTED:
            started = rec.started_at.astimezone() if rec.started_at else None
            return started.strftime("%Y-%m-%d %H:%M:%S") if started else "—"
        if column == COL_DURATION:
            return duration_text(rec.duration_s)
        if column == COL_SIZE:
            return size_text(rec.bytes)
        return self.state_text(rec.state, rec.reason)

    def state_text(self, state: str, reason: str | None) -> str:
        """A recording's state for the director: recording, or ended and why."""
        if state == "recording":
            return self.tr("Recording now")
        if state == "interrupted":
            return self.tr("Interrupted (the server stopped)")
        why = {
            "publisher_left": self.tr("the stream ended"),
            "publisher_restarted": self.tr("the stream restarted"),
            "stopped": self.tr("switched off"),
            "disk_full": self.tr("disk full"),
            "write_error": self.tr("write error"),
            "backend_stopped": self.tr("the server stopped"),
        }.get(reason or "", reason or "")
        return self.tr("Ended: {0}").format(why) if why else self.tr("Ended")
