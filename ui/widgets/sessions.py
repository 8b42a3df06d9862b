"""The chosen session's own tools: rename or end it, every invite link (the viewers' and
each camera's) with its QR code to copy, revoke or re-issue with a quality ceiling, and new
SRT credentials.

Each button only asks the core (bridge.call) through the session link's `report`, so a
refusal shows in the status bar; what changed comes back as link events into the model.
Ending a session and rotating the SRT credentials ask first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.session_link.cloud_api import Invite
from app.session_link.link import SessionLink

from ..bridge import Bridge
from ..models.link import LinkModel
from .common import muted, panel, title
from .qr import qr_pixmap

QR_SIZE = 180
VIEWERS = 0  # the links list's data for the viewers' link (cameras are 1..99)

Confirm = Callable[[QWidget, str, str], bool]


def ask(parent: QWidget, heading: str, text: str) -> bool:
    answer = QMessageBox.question(parent, heading, text)
    return answer == QMessageBox.StandardButton.Yes


class SessionPanel(QWidget):
    def __init__(
        self,
        link: LinkModel,
        bridge: Bridge,
        parent: QWidget | None = None,
        confirm: Confirm = ask,
    ) -> None:
        super().__init__(parent)
        self._link = link
        self._bridge = bridge
        self._confirm = confirm  # tests answer for the director
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(self._session())
        column.addWidget(self._links())
        column.addWidget(self._srt())
        column.addStretch(1)
        link.sessionChanged.connect(self._refresh)
        link.busyChanged.connect(self._refresh)
        link.liveChanged.connect(self._refresh)
        link.srtRotated.connect(self._rotated)
        self._refresh()

    # --- building ---------------------------------------------------------------------

    def _session(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("This session")))
        row = QHBoxLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("Session name"))
        self.name.setMaxLength(100)
        self.name.returnPressed.connect(self.rename)
        self.rename_button = QPushButton(self.tr("Rename"))
        self.rename_button.clicked.connect(self.rename)
        row.addWidget(self.name, 1)
        row.addWidget(self.rename_button)
        layout.addLayout(row)
        self.end_button = QPushButton(self.tr("End session"))
        self.end_button.setToolTip(
            self.tr("Ends it for good: the show stops, phones and viewers leave, links stop")
        )
        self.end_button.clicked.connect(self.end)
        layout.addWidget(self.end_button)
        layout.addLayout(self._defaults_row())
        self.empty = muted(self.tr("Choose a session on the Go Live tab first."))
        layout.addWidget(self.empty)
        return frame

    def _links(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("Invite links")))
        self.which = QComboBox()
        self.which.currentIndexChanged.connect(self._show_link)
        layout.addWidget(self.which)
        self.url = QLabel()
        self.url.setWordWrap(True)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setObjectName("muted")
        layout.addWidget(self.url)
        self.qr = QLabel()
        self.qr.setFixedSize(QR_SIZE, QR_SIZE)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setStyleSheet("background: #0d0f11; border-radius: 4px;")
        layout.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        grid = QGridLayout()
        self.copy_button = QPushButton(self.tr("Copy link"))
        self.copy_button.clicked.connect(self.copy)
        self.revoke_button = QPushButton(self.tr("Revoke link"))
        self.revoke_button.setToolTip(
            self.tr("The link stops working; whoever joined by it leaves")
        )
        self.revoke_button.clicked.connect(self.revoke)
        self.reissue_button = QPushButton(self.tr("Re-issue link"))
        self.reissue_button.setToolTip(self.tr("A new link; the old one stops"))
        self.reissue_button.clicked.connect(self.reissue)
        grid.addWidget(self.copy_button, 0, 0)
        grid.addWidget(self.revoke_button, 1, 0)
        grid.addWidget(self.reissue_button, 1, 1)
        layout.addLayout(grid)
        layout.addLayout(self._quality_row())
        self.quality_hint = muted(self.tr("Re-issue the link to apply"))
        self.quality_hint.hide()
        layout.addWidget(self.quality_hint)
        return frame

    def _defaults_row(self) -> QGridLayout:
        """The session's default quality ceiling for new links of each role."""
        grid = QGridLayout()
        self.camera_default = self._ceiling_box()
        self.viewer_default = self._ceiling_box()
        rows = (
            (self.tr("New camera links"), self.camera_default),
            (self.tr("New viewer links"), self.viewer_default),
        )
        for row, (text, box) in enumerate(rows):
            grid.addWidget(QLabel(text), row, 0)
            grid.addWidget(box, row, 1)
            box.setToolTip(self.tr("The quality a new link gets; links handed out keep theirs"))
            box.activated.connect(self.set_defaults)  # the director's own change only
        return grid

    def _ceiling_box(self) -> QComboBox:
        box = QComboBox()
        box.addItem(self.tr("Auto: high or low by the network"), "auto")
        box.addItem(self.tr("Low only"), "lo")
        return box

    def _quality_row(self) -> QHBoxLayout:
        """The link's quality ceiling (docs/gateway.md, "Quality by role"): shown for the
        link there is, and given to the next one when the link is re-issued."""
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Quality")))
        self.quality = self._ceiling_box()
        self.quality.setToolTip(
            self.tr(
                "What this link's viewers or phone may watch. "
                "A change applies when you re-issue the link."
            )
        )
        self.quality.currentIndexChanged.connect(self._quality_changed)
        row.addWidget(self.quality, 1)
        self._quality_of: str | None = None  # the link whose ceiling the box shows
        return row

    def _srt(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("SRT credentials")))
        layout.addWidget(
            muted(
                self.tr(
                    "New credentials stop the old passphrase and publish token at once; "
                    "on air, the stream reconnects with the new passphrase."
                )
            )
        )
        self.rotate_button = QPushButton(self.tr("Rotate SRT credentials"))
        self.rotate_button.clicked.connect(self.rotate)
        layout.addWidget(self.rotate_button)
        self.srt_status = muted()
        layout.addWidget(self.srt_status)
        return frame

    # --- actions ----------------------------------------------------------------------

    def rename(self) -> None:
        session, name = self._link.session, self.name.text().strip()
        if session is not None and name and name != session.name:
            self._report(lambda link: link.rename_session(session.id, name))

    def end(self) -> None:
        session = self._link.session
        if session is None:
            return
        text = self.tr(
            "End \u201c{0}\u201d for good? Phones and viewers are closed and its links stop."
        ).format(session.name)
        if self._link.live:
            text += " " + self.tr("The show on air stops first.")
        if self._confirm(self, self.tr("End session"), text):
            self._report(lambda link: link.end_session(session.id))

    def set_defaults(self) -> None:
        session = self._link.session
        camera, viewer = self.camera_default.currentData(), self.viewer_default.currentData()
        if session is not None:
            self._report(lambda link: link.set_quality_defaults(session.id, camera, viewer))

    def rotate(self) -> None:
        if self._link.session is None:
            return
        text = self.tr("Give this session a new SRT passphrase and publish token?")
        if self._link.live:
            text += " " + self.tr("The stream reconnects with the new passphrase.")
        if self._confirm(self, self.tr("Rotate SRT credentials"), text):
            self._report(lambda link: link.rotate_srt())

    def copy(self) -> None:
        invite = self.current()
        if invite is not None:
            QGuiApplication.clipboard().setText(invite.url)

    def revoke(self) -> None:
        camera = self._camera()
        if self.current() is not None:
            self._bridge.call(lambda link: link.report("crew", link.crew.revoke(camera)))

    def reissue(self) -> None:
        camera = self._camera()
        # None (no link to show, the box blank): the session's default for the role.
        quality = self.quality.currentData() if self.quality.currentIndex() >= 0 else None
        if self._link.session is not None:
            self._bridge.call(lambda link: link.report("crew", link.crew.reissue(camera, quality)))

    def pick(self, camera: int | None) -> None:
        """Show the viewers' link (None) or a camera's."""
        self.which.setCurrentIndex(max(0, self.which.findData(camera or VIEWERS)))

    def current(self) -> Invite | None:
        camera = self._camera()
        return self._link.invite_for(camera, "viewer" if camera is None else "camera")

    # --- showing ----------------------------------------------------------------------

    def _report(self, work: Callable[[SessionLink], Awaitable[object]]) -> None:
        self._bridge.call(lambda link: link.report("session", work(link)))

    def _camera(self) -> int | None:
        data = self.which.currentData()
        return data if isinstance(data, int) and data != VIEWERS else None

    def _refresh(self) -> None:
        session = self._link.session
        chosen, busy = session is not None, bool(self._link.busy)
        self.empty.setVisible(not chosen)
        for widget in (self.name, self.rename_button, self.end_button, self.rotate_button):
            widget.setEnabled(chosen and not busy)
        for box, role in ((self.camera_default, "camera"), (self.viewer_default, "viewer")):
            box.setEnabled(chosen and not busy)
            if session is not None:
                stored = session.camera_quality if role == "camera" else session.viewer_quality
                box.setCurrentIndex(box.findData(stored))
        self.which.setEnabled(chosen)
        if not self.name.hasFocus() or not chosen:
            self.name.setText(session.name if session is not None else "")
        picked = self.which.currentData()
        self.which.blockSignals(True)
        self.which.clear()
        if session is not None:
            self.which.addItem(self.tr("Viewers"), VIEWERS)
            for cam in session.cameras:
                self.which.addItem(
                    self.tr("Camera {0} · {1}").format(cam.number, cam.name), cam.number
                )
            self.which.setCurrentIndex(max(0, self.which.findData(picked)))
        else:
            self.srt_status.clear()
        self.which.blockSignals(False)
        self._show_link()

    def _show_link(self) -> None:
        invite = self.current()
        chosen = self._link.session is not None
        self.url.setText(invite.url if invite is not None else "")
        if invite is not None:
            self.qr.setPixmap(qr_pixmap(invite.url, QR_SIZE - 8))
        else:
            self.qr.clear()
            self.url.setText(self.tr("No link yet") if chosen else "")
        self.copy_button.setEnabled(invite is not None)
        self.revoke_button.setEnabled(invite is not None)
        self.reissue_button.setEnabled(chosen)
        self.quality.setEnabled(chosen)
        shown = invite.id if invite is not None else None
        if shown != self._quality_of:  # another link: show its own, forget a pending choice
            self._quality_of = shown
            self.quality.blockSignals(True)
            self.quality.setCurrentIndex(self.quality.findData(invite.quality) if invite else -1)
            self.quality.blockSignals(False)
        self._quality_changed()

    def _quality_changed(self) -> None:
        invite = self.current()
        pending = invite is not None and self.quality.currentData() != invite.quality
        self.quality_hint.setVisible(pending)

    def _rotated(self, live: bool) -> None:
        if live:
            self.srt_status.setText(
                self.tr("New SRT credentials: the stream is reconnecting with them.")
            )
        else:
            self.srt_status.setText(self.tr("New SRT credentials: the next Go Live uses them."))
