"""The audience link (HLS) group on the Recordings tab: for audiences larger than WebRTC
carries (docs/recording.md, "HLS for audiences"). The director picks how long a link is
valid, makes it, copies it or shows its QR code, and can revoke every audience link of the
session (asking first: whoever plays one stops).

Each button only asks the core (bridge.call through the session link's `report`, so a
refusal shows in the status bar); the link made comes back as AudienceLinkChanged into the
model, which keeps the last one per session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.session_link.audience import DAY_S, DEFAULT_TTL_S, HOUR_S
from app.session_link.link import SessionLink

from ..bridge import Bridge
from ..models.link import LinkModel
from .common import muted, panel, title
from .qr import qr_pixmap
from .sessions import Confirm

QR_SIZE = 180


class AudienceGroup(QWidget):
    def __init__(
        self,
        link: LinkModel,
        bridge: Bridge,
        confirm: Confirm,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._link = link
        self._bridge = bridge
        self._confirm = confirm  # the panel's: tests answer for the director
        frame, layout = panel(self)
        layout.addWidget(title(self.tr("Audience link (HLS)")))
        layout.addWidget(
            muted(
                self.tr(
                    "For audiences larger than the live viewers' link: any HLS player, "
                    "no login, about 8 s behind live."
                )
            )
        )
        row = QHBoxLayout()
        self.validity = QComboBox()
        for text, ttl in (
            (self.tr("Valid 1 hour"), HOUR_S),
            (self.tr("Valid 1 day"), DAY_S),
            (self.tr("Valid 7 days"), 7 * DAY_S),
        ):
            self.validity.addItem(text, ttl)
        self.validity.setCurrentIndex(self.validity.findData(DEFAULT_TTL_S))
        self.make_button = QPushButton(self.tr("Make link"))
        self.make_button.clicked.connect(self.make)
        row.addWidget(self.validity, 1)
        row.addWidget(self.make_button)
        layout.addLayout(row)
        url_row = QHBoxLayout()
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setPlaceholderText(self.tr("No audience link made yet"))
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.clicked.connect(self.copy)
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy_button)
        layout.addLayout(url_row)
        self.expiry = muted()
        layout.addWidget(self.expiry)
        self.qr = QLabel()
        self.qr.setFixedSize(QR_SIZE, QR_SIZE)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setStyleSheet("background: #0d0f11; border-radius: 4px;")
        layout.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        self.revoke_button = QPushButton(self.tr("Revoke all links…"))
        self.revoke_button.setToolTip(
            self.tr("Every audience link of this session stops, those handed out before too")
        )
        self.revoke_button.clicked.connect(self.revoke)
        layout.addWidget(self.revoke_button)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        link.sessionChanged.connect(self._refresh)
        link.audienceChanged.connect(self._refresh)
        self._refresh()

    # --- actions ----------------------------------------------------------------------

    def make(self) -> None:
        session, ttl = self._link.session, int(self.validity.currentData())
        if session is not None:
            self._report(lambda link: link.audience.make(session.id, ttl))

    def copy(self) -> None:
        made = self._link.audience
        if made is not None:
            QGuiApplication.clipboard().setText(made.url)

    def revoke(self) -> None:
        session = self._link.session
        if session is None:
            return
        text = self.tr(
            "Revoke every audience link of this session? "
            "Everyone playing an audience link stops; links made after work."
        )
        if self._confirm(self, self.tr("Revoke audience links"), text):
            self._report(lambda link: link.audience.revoke(session.id))

    # --- showing ----------------------------------------------------------------------

    def _report(self, work: Callable[[SessionLink], Awaitable[object]]) -> None:
        self._bridge.call(lambda link: link.report("audience", work(link)))

    def _refresh(self) -> None:
        chosen, made = self._link.session is not None, self._link.audience
        for widget in (self.validity, self.make_button, self.revoke_button):
            widget.setEnabled(chosen)
        self.copy_button.setEnabled(made is not None)
        self.url.setText(made.url if made is not None else "")
        self.url.setCursorPosition(0)  # the host and session first; the token runs on
        if made is None:
            self.qr.clear()
            self.expiry.clear()
            return
        self.qr.setPixmap(qr_pixmap(made.url, QR_SIZE - 8))
        self.expiry.setText(self.expiry_text(made.expires_at))

    def expiry_text(self, expires_at: datetime | None) -> str:
        if expires_at is None:
            return ""
        when = expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
        if expires_at <= datetime.now(UTC):
            return self.tr("Expired {0}: make a new link").format(when)
        return self.tr("Valid until {0}").format(when)
