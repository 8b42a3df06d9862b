"""Phone cameras: which source each camera is, its link and QR code, and operator messages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.engine.commands import MapCamera
from app.session_link.link import SessionLink

from ..bridge import Bridge
from ..models.cameras import CamerasModel
from ..models.link import LinkModel
from ..models.switcher import SwitcherModel
from .common import muted, panel, title
from .qr import qr_pixmap

QR_SIZE = 150


class CamerasPanel(QWidget):
    def __init__(
        self,
        cameras: CamerasModel,
        switcher: SwitcherModel,
        link: LinkModel,
        bridge: Bridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._cameras = cameras
        self._switcher = switcher
        self._link = link
        self._bridge = bridge
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(self._table(), 1)
        column.addWidget(self._links())
        column.addWidget(self._messages())
        cameras.modelReset.connect(self._selection_changed)
        switcher.sourcesChanged.connect(self._fill_sources)
        link.sessionChanged.connect(self._selection_changed)
        link.messagesChanged.connect(self._show_messages)
        self._fill_sources()
        self._selection_changed()

    def _table(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("Phone cameras")))
        self.table = QTableView()
        self.table.setModel(self._cameras)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel(self.tr("Source")))
        self.source = QComboBox()
        self.source.activated.connect(self._map)
        row.addWidget(self.source, 1)
        layout.addLayout(row)
        self.empty = muted(self.tr("Choose a session on the Go Live tab to see its cameras."))
        layout.addWidget(self.empty)
        return frame

    def _links(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("Links")))
        row = QHBoxLayout()
        self.qr = QLabel()
        self.qr.setFixedSize(QR_SIZE, QR_SIZE)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setStyleSheet("background: #0d0f11; border-radius: 4px;")
        row.addWidget(self.qr)
        texts = QVBoxLayout()
        self.qr_caption = muted()
        self.camera_link = QLineEdit()
        self.camera_link.setReadOnly(True)
        copy_camera = QPushButton(self.tr("Copy camera link"))
        copy_camera.clicked.connect(lambda: self._copy(self.camera_link.text()))
        self.viewer_link = QLineEdit()
        self.viewer_link.setReadOnly(True)
        copy_viewer = QPushButton(self.tr("Copy viewer link"))
        copy_viewer.clicked.connect(lambda: self._copy(self.viewer_link.text()))
        show_viewer = QPushButton(self.tr("Viewer QR"))
        show_viewer.clicked.connect(
            lambda: self._show_qr(self.viewer_link.text(), self.tr("Viewers"))
        )
        texts.addWidget(self.qr_caption)
        texts.addWidget(self.camera_link)
        texts.addWidget(copy_camera)
        texts.addWidget(self.viewer_link)
        buttons = QHBoxLayout()
        buttons.addWidget(copy_viewer)
        buttons.addWidget(show_viewer)
        texts.addLayout(buttons)
        texts.addStretch(1)
        row.addLayout(texts, 1)
        layout.addLayout(row)
        return frame

    def _messages(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("Messages to operators")))
        row = QHBoxLayout()
        self.recipient = QComboBox()
        self.text = QLineEdit()
        self.text.setPlaceholderText(self.tr("e.g. Cam 2, go wide"))
        self.text.setMaxLength(500)
        self.text.returnPressed.connect(self._send)
        send = QPushButton(self.tr("Send"))
        send.clicked.connect(self._send)
        row.addWidget(self.recipient)
        row.addWidget(self.text, 1)
        row.addWidget(send)
        layout.addLayout(row)
        self.sent = QListWidget()
        self.sent.setMaximumHeight(110)
        layout.addWidget(self.sent)
        return frame

    # --- behaviour ------------------------------------------------------------------------

    def selected_camera(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        number = rows[0].data(Qt.ItemDataRole.UserRole)
        return number if isinstance(number, int) else None

    def _fill_sources(self) -> None:
        self.source.clear()
        self.source.addItem(self.tr("(none)"), None)
        for info in self._switcher.sources:
            self.source.addItem(info.title, info.name)
        self._selection_changed()

    def _selection_changed(self) -> None:
        cameras = self._cameras.cameras
        self.empty.setVisible(not cameras)
        if cameras and self.selected_camera() is None:
            self.table.selectRow(0)  # re-enters through selectionChanged
            return
        number = self.selected_camera()
        camera = next((c for c in cameras if c.number == number), None)
        self.source.setEnabled(camera is not None)
        if camera is not None:
            self.source.setCurrentIndex(max(0, self.source.findData(camera.source)))
        invite = self._link.invite_for(number) if number is not None else None
        viewer = self._link.invite_for(None, "viewer")
        self.camera_link.setText(invite.url if invite else "")
        self.viewer_link.setText(viewer.url if viewer else "")
        if invite is not None and camera is not None:
            self._show_qr(
                invite.url, self.tr("Camera {0} · {1}").format(camera.number, camera.name)
            )
        else:
            self.qr.clear()
            self.qr_caption.setText(self.tr("No link yet"))
        self._fill_recipients()

    def _show_qr(self, url: str, caption: str) -> None:
        if not url:
            return
        self.qr.setPixmap(qr_pixmap(url, QR_SIZE - 8))
        self.qr_caption.setText(caption)

    def _map(self, index: int) -> None:
        number = self.selected_camera()
        if number is not None:
            source = self.source.itemData(index)
            self._bridge.submit(MapCamera(number, source if isinstance(source, str) else None))

    def _copy(self, text: str) -> None:
        if text:
            QGuiApplication.clipboard().setText(text)

    def _fill_recipients(self) -> None:
        current = self.recipient.currentData()
        self.recipient.clear()
        self.recipient.addItem(self.tr("All cameras"), None)
        for camera in self._cameras.cameras:
            self.recipient.addItem(f"{camera.number} · {camera.name}", camera.number)
        self.recipient.setCurrentIndex(max(0, self.recipient.findData(current)))

    def _send(self) -> None:
        text = self.text.text().strip()
        if not text:
            return
        camera = self.recipient.currentData()
        target = camera if isinstance(camera, int) else None
        self._bridge.call(lambda link: _send(link, text, target))
        self.text.clear()

    def _show_messages(self) -> None:
        self.sent.clear()
        for row in reversed(self._link.messages):
            to = self.tr("all") if row.camera is None else str(row.camera)
            seen = ", ".join(str(n) for n in sorted(row.acked))
            status = self.tr("seen by {0}").format(seen) if seen else self.tr("not seen yet")
            self.sent.addItem(f"→ {to}: {row.text}   ({status})")


async def _send(link: SessionLink, text: str, camera: int | None) -> None:
    link.send_message(text, camera)
