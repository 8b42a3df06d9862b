"""The crew: who has joined by a link, and the director's hand on them — flash a phone,
move it to another camera, revoke or re-issue a camera's link."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.session_link.cloud_api import Participant

from ..bridge import Bridge
from ..models.crew import CrewModel
from ..models.link import LinkModel
from .common import muted, title

TICK_MS = 1000  # the "how long ago" columns


class CrewPanel(QWidget):
    def __init__(
        self, crew: CrewModel, link: LinkModel, bridge: Bridge, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._crew = crew
        self._link = link
        self._bridge = bridge
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(title(self.tr("Crew")))
        self.table = QTableView()
        self.table.setModel(crew)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        column.addWidget(self.table, 1)
        self.hint = muted(self.tr("Phones and viewers appear here once they join by a link."))
        column.addWidget(self.hint)
        column.addLayout(self._buttons())
        self._timer = QTimer(self)
        self._timer.timeout.connect(crew.tick)
        self._timer.start(TICK_MS)
        link.sessionChanged.connect(self._fill_cameras)
        crew.modelReset.connect(self._enable)
        self.table.selectionModel().selectionChanged.connect(self._enable)
        self._fill_cameras()

    def _buttons(self) -> QGridLayout:
        grid = QGridLayout()
        self.flash_button = QPushButton(self.tr("Flash phone"))
        self.flash_button.setToolTip(self.tr("Flash the selected camera's phone screen"))
        self.flash_button.clicked.connect(lambda: self.flash(self._camera()))
        self.move_to = QComboBox()
        self.move_button = QPushButton(self.tr("Move to camera"))
        self.move_button.clicked.connect(self._move_selected)
        self.revoke_button = QPushButton(self.tr("Revoke link"))
        self.revoke_button.setToolTip(self.tr("The camera's link stops working; its phones leave"))
        self.revoke_button.clicked.connect(lambda: self.revoke(self._camera()))
        self.reissue_button = QPushButton(self.tr("Re-issue link"))
        self.reissue_button.setToolTip(self.tr("A new link for the camera; the old one stops"))
        self.reissue_button.clicked.connect(lambda: self.reissue(self._camera()))
        self.refresh_button = QPushButton(self.tr("Refresh list"))
        self.refresh_button.setToolTip(self.tr("On air the list follows by itself"))
        self.refresh_button.clicked.connect(self.refresh)
        grid.addWidget(self.flash_button, 0, 0)
        grid.addWidget(self.refresh_button, 0, 1)
        grid.addWidget(self.move_to, 1, 0)
        grid.addWidget(self.move_button, 1, 1)
        grid.addWidget(self.revoke_button, 2, 0)
        grid.addWidget(self.reissue_button, 2, 1)
        return grid

    # --- actions (each runs on the core; a refusal shows in the status bar) ----------------

    def flash(self, camera: int | None) -> None:
        if camera is not None:
            self._bridge.call(lambda link: link.report("crew", link.crew.flash(camera)))

    def refresh(self) -> None:
        self._bridge.call(lambda link: link.report("crew", link.crew.roster()))

    def move_phone(self, phone: Participant, camera: int) -> None:
        self._bridge.call(lambda link: link.report("crew", link.crew.move(phone.id, camera)))

    def revoke(self, camera: int | None) -> None:
        if camera is not None:
            self._bridge.call(lambda link: link.report("crew", link.crew.revoke(camera)))

    def reissue(self, camera: int | None) -> None:
        if camera is not None:
            self._bridge.call(lambda link: link.report("crew", link.crew.reissue(camera)))

    # --- helpers ---------------------------------------------------------------------------

    def select(self, row: int) -> None:
        self.table.selectRow(row)

    def _selected(self) -> Participant | None:
        rows = self.table.selectionModel().selectedRows()
        return self._crew.phone(rows[0].row()) if rows else None

    def _camera(self) -> int | None:
        phone = self._selected()
        return phone.camera_number if phone is not None and phone.role == "camera" else None

    def _move_selected(self) -> None:
        phone, camera = self._selected(), self.move_to.currentData()
        if phone is not None and phone.role == "camera" and isinstance(camera, int):
            self.move_phone(phone, camera)

    def _fill_cameras(self) -> None:
        self.move_to.clear()
        session = self._link.session
        for cam in session.cameras if session is not None else ():
            self.move_to.addItem(f"{cam.number} · {cam.name}", cam.number)
        self._enable()

    def _enable(self) -> None:
        camera = self._camera() is not None
        self.hint.setVisible(not self._crew.phones)
        for button in (self.flash_button, self.revoke_button, self.reissue_button):
            button.setEnabled(camera)
        self.move_button.setEnabled(camera and self.move_to.count() > 0)
        self.refresh_button.setEnabled(self._link.session is not None)

    def _mover(self, phone: Participant, camera: int) -> Callable[[], None]:
        return lambda: self.move_phone(phone, camera)

    def _menu(self, at: QPoint) -> None:
        index = self.table.indexAt(at)
        phone = self._crew.phone(index.row()) if index.isValid() else None
        if phone is None or phone.role != "camera" or phone.camera_number is None:
            return
        self.select(index.row())
        camera = phone.camera_number
        menu = QMenu(self)
        menu.addAction(self.tr("Flash phone"), lambda: self.flash(camera))
        moves = menu.addMenu(self.tr("Move to camera"))
        session = self._link.session
        for cam in session.cameras if session is not None else ():
            if cam.number != camera:
                moves.addAction(f"{cam.number} · {cam.name}", self._mover(phone, cam.number))
        menu.addAction(self.tr("Revoke link"), lambda: self.revoke(camera))
        menu.addAction(self.tr("Re-issue link"), lambda: self.reissue(camera))
        menu.popup(self.table.viewport().mapToGlobal(at))
