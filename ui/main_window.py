"""The main window: monitors and multiview on the left, control strip below, panels right.

It only composes: each panel is its own widget over its own model; the window wires the
bridge's events into the models and keeps the status bar.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.engine.commands import SetPreview, SetProgram
from app.engine.sources import AudioSpec
from app.runtime import Runtime

from . import feeds
from .bridge import Bridge
from .core_text import core_text
from .hotkeys import Hotkeys
from .models.audio import AudioModel
from .models.cameras import CamerasModel
from .models.crew import CrewModel
from .models.link import LinkModel
from .models.switcher import SwitcherModel
from .settings import Settings, save
from .video.multiview import Multiview
from .video.onair import Clocks
from .video.pump import FramePump
from .video.view import VideoView
from .widgets.audio import AudioStrip
from .widgets.buses import BusRows
from .widgets.cameras import CamerasPanel
from .widgets.common import panel, title
from .widgets.crew import CrewPanel
from .widgets.golive import GoLivePanel
from .widgets.recordings import RecordingsPanel
from .widgets.sessions import SessionPanel
from .widgets.settings_dialog import SettingsDialog
from .widgets.transition import TransitionPanel

STATUS_MS = 6000


class MainWindow(QMainWindow):
    def __init__(
        self,
        runtime: Runtime,
        settings: Settings,
        store: QSettings | None = None,
        *,
        clocks: Clocks | None = None,  # the multiview's clock and on-air time; tests set it
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.settings = settings
        self._store = store
        self._clocks = clocks
        self.setWindowTitle("ReturnFeed")
        self.resize(1600, 900)
        self.bridge = Bridge(runtime, self)
        self.switcher = SwitcherModel(self)
        self.audio = AudioModel(self)
        self.link = LinkModel(self)
        self.cameras = CamerasModel(self.link, self)
        self.crew = CrewModel(self)
        self.bridge.engineEvent.connect(self._engine_event)
        self.bridge.linkEvent.connect(self.link.apply)
        self.bridge.linkEvent.connect(self.crew.apply)
        self.bridge.failed.connect(self.show_error)
        self.link.failed.connect(lambda _action, message: self.show_error(message))
        self.link.notice.connect(self.show_message)
        self.pump = FramePump(parent=self)
        self._build()
        state = runtime.state
        for model in (self.switcher, self.audio, self.cameras):
            model.reset(state)
        self.hotkeys = Hotkeys(self, self.switcher, self.bridge)
        self.pump.start()

    # --- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        central.setObjectName("central")
        outer = QHBoxLayout(central)
        outer.setContentsMargins(8, 8, 8, 4)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._switcher_column())
        split.addWidget(self._side_tabs())
        split.setStretchFactor(0, 1)
        split.setSizes([1180, 400])
        outer.addWidget(split)
        self.setCentralWidget(central)
        self._menus()
        self._status()

    def _switcher_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)
        monitors = QHBoxLayout()
        monitors.setSpacing(6)
        self.preview_view = VideoView(self.tr("PREVIEW"), border=4)
        self.program_view = VideoView(self.tr("PROGRAM"), border=4)
        self.preview_view.set_tally("preview")
        self.program_view.set_tally("program")
        # The pump ticks every 8 ms: program each tick (a new 60 fps frame is on screen
        # within ~8 ms of its hand-off), preview and the multiview at ~30 fps.
        self.pump.add(self.preview_view, feeds.preview_feed(self.runtime), every=4)
        self.pump.add(self.program_view, feeds.program_feed(self.runtime), every=1)
        monitors.addWidget(self.preview_view)
        monitors.addWidget(self.program_view)
        layout.addLayout(monitors, 5)
        self.multiview = Multiview(
            self.switcher,
            self.pump,
            lambda name: feeds.source_feed(self.runtime, name),
            lambda name: feeds.source_state(self.runtime, name),
            layout=self.settings.multiview_layout,
            clocks=self._clocks,
        )
        self.multiview.previewRequested.connect(lambda n: self.bridge.submit(SetPreview(n)))
        self.multiview.programRequested.connect(lambda n: self.bridge.submit(SetProgram(n)))
        self.multiview.layoutPicked.connect(self._layout_picked)
        layout.addWidget(self.multiview, 4)
        layout.addWidget(self._control_strip())
        self.switcher.busChanged.connect(self._label_monitors)
        self.switcher.sourcesChanged.connect(self._label_monitors)
        self.switcher.ftbChanged.connect(
            lambda on: self.program_view.set_note(self.tr("FTB") if on else "")
        )
        return column

    def _control_strip(self) -> QWidget:
        strip = QWidget()
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        buses, buses_layout = panel()
        buses_layout.addWidget(title(self.tr("Buses")))
        self.buses = BusRows(self.switcher, self.bridge)
        buses_layout.addWidget(self.buses)
        buses_layout.addStretch(1)
        row.addWidget(buses, 3)
        fps = float(self.runtime.config.media.fps)
        transition, transition_layout = panel()
        self.transition = TransitionPanel(self.switcher, self.bridge, fps)
        transition_layout.addWidget(self.transition)
        row.addWidget(transition, 2)
        audio, audio_layout = panel()
        audio_layout.addWidget(title(self.tr("Audio")))
        self.audio_strip = AudioStrip(self.audio, self.bridge, self.runtime)
        self.audio_strip.inputsChanged.connect(self._audio_inputs_changed)
        self.audio_strip.failed.connect(self.show_error)
        audio_layout.addWidget(self.audio_strip, 1)
        row.addWidget(audio, 2)
        return strip

    def _side_tabs(self) -> QWidget:
        self.tabs = QTabWidget()
        self.go_live = GoLivePanel(self.link, self.bridge, self.settings.backend)
        self.go_live.email.setText(self.settings.email)
        self.cameras_panel = CamerasPanel(self.cameras, self.switcher, self.link, self.bridge)
        self.tabs.addTab(self.go_live, self.tr("Go Live"))
        self.tabs.addTab(self.cameras_panel, self.tr("Cameras"))
        self.crew_panel = CrewPanel(self.crew, self.link, self.bridge)
        self.tabs.addTab(self.crew_panel, self.tr("Crew"))
        self.session_panel = SessionPanel(self.link, self.bridge)
        self.tabs.addTab(self.session_panel, self.tr("Session"))
        self.recordings_panel = RecordingsPanel(self.link, self.bridge)
        self.tabs.addTab(self.recordings_panel, self.tr("Recordings"))
        self.tabs.setMinimumWidth(360)
        return self.tabs

    def _menus(self) -> None:
        menu = self.menuBar().addMenu(self.tr("&Show"))
        settings = QAction(self.tr("Settings…"), self)
        settings.triggered.connect(self.open_settings)
        menu.addAction(settings)
        quit_action = QAction(self.tr("Quit"), self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)

    def _status(self) -> None:
        bar = self.statusBar()
        self.control_label = QLabel()
        url = self.runtime.control_url
        if url:
            self.control_label.setText(self.tr("Control API {0}").format(url))
            copy = QPushButton(self.tr("Copy token"))
            copy.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            copy.clicked.connect(self._copy_token)
            bar.addPermanentWidget(self.control_label)
            bar.addPermanentWidget(copy)
        if self.runtime.vault_note:
            self.control_label.setToolTip(self.runtime.vault_note)

    # --- behaviour ----------------------------------------------------------------------

    def _engine_event(self, event: object) -> None:
        # The order matters only within each model; every model sees every event in order.
        self.switcher.apply(event)
        self.audio.apply(event)
        self.cameras.apply(event)

    def _label_monitors(self) -> None:
        names = {s.name: s.title for s in self.switcher.sources}
        pvw = names.get(self.switcher.preview or "", "—")
        pgm = " + ".join(names.get(n, n) for n in self.switcher.on_air) or "—"
        self.preview_view.set_title(pvw, self.tr("PVW"))
        self.program_view.set_title(pgm, self.tr("PGM"))

    def _layout_picked(self, count: int) -> None:
        self.settings = replace(self.settings, multiview_layout=count)
        self._save()

    def _audio_inputs_changed(self, specs: tuple[AudioSpec, ...]) -> None:
        self.settings = replace(self.settings, audio=specs)
        self._save()

    def _copy_token(self) -> None:
        QGuiApplication.clipboard().setText(self.runtime.control_token)
        self.show_message(self.tr("Control token copied"))

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage("⚠ " + core_text(message), STATUS_MS)

    def show_message(self, message: str) -> None:
        self.statusBar().showMessage(core_text(message), STATUS_MS)

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if not dialog.exec():
            return
        self.apply_settings(dialog.result_settings)

    def apply_settings(self, new: Settings) -> None:
        """Hand each changed setting to the core: sources and NDI at once (NDI sources are
        rebuilt with the new settings), encoder and SRT latency for the next Go Live; show
        the multiview layout at once."""
        old, self.settings = self.settings, new
        self.multiview.set_layout(new.multiview_layout)
        ndi = new.ndi if new.ndi != old.ndi else None
        if new.sources != old.sources or ndi is not None:
            future = self.runtime.replace_sources(new.sources, ndi)
            future.add_done_callback(lambda f: f.exception() and None)
        self.runtime.set_stream(new.encoder, new.srt_latency_ms)
        later = []
        if (new.encoder, new.srt_latency_ms) != (old.encoder, old.srt_latency_ms):
            later.append(self.tr("Encoder and SRT latency apply at the next Go Live."))
        if (new.ndi_discovery, new.language) != (old.ndi_discovery, old.language):
            later.append(
                self.tr("Language and NDI discovery server changes apply after a restart.")
            )
        if later:
            self.show_message(" ".join(later))
        self._save()

    def _save(self) -> None:
        if self._store is not None:
            email = self.link.email or self.go_live.email.text().strip()
            backend = self.link.backend or self.go_live.backend.text().strip()
            save(self._store, replace(self.settings, email=email, backend=backend))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.pump.stop()
        self._save()
        self.bridge.close()
        super().closeEvent(event)
