"""Recording, for the director: the session's switch and the state of the show's recording
(in the Go Live panel), and the chosen session's recordings (their own tab) to download as
one MP4, play in the system's player, or delete; below them, its audience link (HLS,
ui/widgets/audience.py).

Every action asks the core (bridge.call, through the session link's `report`, so a refusal
shows in the status bar); a download streams to disk in the core, never here. The list
follows the core's RecordingsListed: the on-air poll every 5 s, or a listing asked for when
a session is chosen, a show stops, or Refresh is pressed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.session_link.link import SessionLink
from app.session_link.recording_info import Recording

from ..bridge import Bridge
from ..models.link import LinkModel
from ..models.recordings import RecordingsModel
from .audience import AudienceGroup
from .common import muted, panel, title
from .sessions import ask

# After Stop the backend ends the recording once it sees the stream go (about a second):
# the list is read again this often while it still says "recording", this many times.
SETTLE_MS = 1000
SETTLE_TRIES = 10

Confirm = Callable[[QWidget, str, str], bool]
ChooseFile = Callable[[QWidget, str], str | None]  # the suggested name -> the path, or None


def save_as(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(
        parent, parent.tr("Save recording"), suggested, parent.tr("MP4 video (*.mp4)")
    )
    return path or None


def _report(bridge: Bridge, work: Callable[[SessionLink], Awaitable[object]]) -> None:
    bridge.call(lambda link: link.report("recording", work(link)))


class RecordingLine(QWidget):
    """The switch and, on air, what the recording is doing."""

    def __init__(self, link: LinkModel, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self._bridge = bridge
        self._words = RecordingsModel(link, self)  # its state words
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.switch = QCheckBox(self.tr("Record"))
        self.switch.setToolTip(
            self.tr(
                "Keep a recording of each Go Live of this session on the server. "
                "Switched off on air, the recording ends; on again, a new one begins."
            )
        )
        self.switch.clicked.connect(self.set_switch)  # the director's own change only
        self.state = muted()
        row.addWidget(self.switch)
        row.addWidget(self.state, 1)
        for signal in (link.sessionChanged, link.liveChanged, link.recordingsChanged):
            signal.connect(self._refresh)
        self._refresh()

    def set_switch(self) -> None:
        session, on = self._link.session, self.switch.isChecked()
        if session is not None:
            _report(self._bridge, lambda link: link.recordings.set_switch(session.id, on))

    def _refresh(self) -> None:
        session = self._link.session
        self.switch.setEnabled(session is not None)
        self.switch.setChecked(session is not None and session.recording)
        self.state.setText(self.state_text())

    def state_text(self) -> str:
        session, listing = self._link.session, self._link.recordings
        if session is None:
            return ""
        if listing is not None and listing.now.state == "unavailable":
            return self.tr("This server keeps no recordings")
        if not session.recording:
            return self.tr("Recording off")
        if not self._link.live or listing is None:
            return self.tr("Each Go Live is recorded")
        now = listing.now
        if now.state == "recording":
            return self.tr("● Recording")
        if now.state == "ended":
            return self._words.state_text("ended", now.reason)
        if now.state == "off":
            return self.tr("Recording off")
        return self.tr("Recording starts with the picture")


class RecordingsPanel(QWidget):
    def __init__(
        self,
        link: LinkModel,
        bridge: Bridge,
        parent: QWidget | None = None,
        confirm: Confirm = ask,
        choose_file: ChooseFile = save_as,
    ) -> None:
        super().__init__(parent)
        self._link = link
        self._bridge = bridge
        self._confirm = confirm  # tests answer for the director
        self._choose_file = choose_file
        self._was_live = False
        self._listed: str | None = None  # the session whose recordings were asked for
        self._settle = 0  # re-reads left after a show stopped
        self._settler = QTimer(self)
        self._settler.setSingleShot(True)
        self._settler.setInterval(SETTLE_MS)
        self._settler.timeout.connect(self.refresh)
        self.model = RecordingsModel(link, self)
        frame, layout = panel()
        layout.addWidget(title(self.tr("Recordings")))
        self.line = RecordingLine(link, bridge)
        layout.addWidget(self.line)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        self.download_button = QPushButton(self.tr("Download…"))
        self.download_button.setToolTip(self.tr("Save the recording as one MP4 file"))
        self.download_button.clicked.connect(self.download)
        self.play_button = QPushButton(self.tr("Play"))
        self.play_button.setToolTip(self.tr("Open the recording in this computer's player"))
        self.play_button.clicked.connect(self.play)
        self.delete_button = QPushButton(self.tr("Delete…"))
        self.delete_button.clicked.connect(self.delete)
        for button in (
            self.refresh_button,
            self.download_button,
            self.play_button,
            self.delete_button,
        ):
            row.addWidget(button)
        layout.addLayout(row)
        self.status = muted()
        layout.addWidget(self.status)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(frame, 1)
        self.audience = AudienceGroup(link, bridge, lambda p, h, t: self._confirm(p, h, t))
        column.addWidget(self.audience)
        link.sessionChanged.connect(self._session_changed)
        link.liveChanged.connect(self._live_changed)
        link.recordingSaved.connect(self._saved)
        link.recordingsChanged.connect(self._settling)
        self.model.modelReset.connect(self._buttons)
        self.table.selectionModel().selectionChanged.connect(self._buttons)
        self._session_changed()

    # --- actions ----------------------------------------------------------------------

    def refresh(self) -> None:
        session = self._link.session
        if session is not None:  # chosen only while logged in
            _report(self._bridge, lambda link: link.recordings.listing(session.id))

    def download(self) -> None:
        session, rec = self._link.session, self.selected()
        if session is None or rec is None:
            return
        path = self._choose_file(self, f"{session.name} {rec.id}.mp4")
        if path:
            self.status.setText(self.tr("Downloading…"))
            dest = Path(path)
            _report(self._bridge, lambda link: link.recordings.download(session.id, rec.id, dest))

    def play(self) -> None:
        session, rec = self._link.session, self.selected()
        if session is not None and rec is not None:
            self.status.setText(self.tr("Downloading to play…"))
            _report(self._bridge, lambda link: link.recordings.play(session.id, rec.id))

    def delete(self) -> None:
        session, rec = self._link.session, self.selected()
        if session is None or rec is None:
            return
        text = self.tr("Delete the recording started {0}? It cannot be undone.").format(
            self.model.data(self.model.index(self.table.currentIndex().row(), 0))
        )
        if self._confirm(self, self.tr("Delete recording"), text):
            _report(self._bridge, lambda link: link.recordings.delete(session.id, rec.id))

    def select(self, row: int) -> None:
        self.table.selectRow(row)

    def selected(self) -> Recording | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.model.rows):
            return None
        return self.model.rows[rows[0].row()]

    # --- showing ----------------------------------------------------------------------

    def _session_changed(self) -> None:
        session = self._link.session
        if session is not None and session.id != self._listed:
            self._listed = session.id
            self.status.clear()
            self.refresh()  # a newly chosen session: its recordings, once
        self._buttons()

    def _live_changed(self) -> None:
        if self._was_live and not self._link.live:
            self._settle = SETTLE_TRIES
            self.refresh()  # the show stopped: its recording ends
        self._was_live = self._link.live

    def _settling(self) -> None:
        listing = self._link.recordings
        writing = listing is not None and any(r.state == "recording" for r in listing.recordings)
        if writing and self._settle > 0 and not self._link.live:
            self._settle -= 1
            self._settler.start()
        else:
            self._settle = 0

    def _saved(self, path: str) -> None:
        self.status.setText(self.tr("Saved to {0}").format(path))

    def _buttons(self) -> None:
        chosen = self._link.session is not None
        rec = self.selected()
        self.refresh_button.setEnabled(chosen)
        for button in (self.download_button, self.play_button):
            button.setEnabled(rec is not None and rec.segments > 0)
        self.delete_button.setEnabled(rec is not None and rec.state != "recording")
