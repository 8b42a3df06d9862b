"""The audio strip: a meter, fader and mute per channel, and the program meter.

Settings go to the engine as commands; levels are pulled from the mixer's meters on a
timer (they change every 10 ms, no event could keep up, and none needs to).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.engine.commands import SetGain, SetMute
from media.audio.mixer import PROGRAM

from ..bridge import Bridge
from ..models.audio import AudioModel
from .meter import Meter

Meters = Callable[[], dict[str, tuple[float, ...]]]
FADER_MIN_DB, FADER_MAX_DB = -60, 12


class ChannelStrip(QWidget):
    def __init__(self, name: str, bridge: Bridge | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        self.meter = Meter()
        self.fader = QSlider(Qt.Orientation.Vertical)
        self.fader.setObjectName("fader")
        self.fader.setRange(FADER_MIN_DB, FADER_MAX_DB)
        self.fader.setToolTip(self.tr("Gain (dB)"))
        self.gain = QLabel("0 dB")
        self.gain.setObjectName("muted")
        self.gain.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mute = QPushButton(self.tr("MUTE"))
        self.mute.setObjectName("mute")
        self.mute.setCheckable(True)
        self.mute.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        label = QLabel(name if name != PROGRAM else self.tr("PGM"))
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.addWidget(self.meter)
        if bridge is not None:
            row.addWidget(self.fader)
            self.fader.valueChanged.connect(lambda v: bridge.submit(SetGain(name, float(v))))
            self.mute.clicked.connect(lambda on: bridge.submit(SetMute(name, on)))
        layout.addLayout(row, 1)
        if bridge is not None:
            layout.addWidget(self.gain)
            layout.addWidget(self.mute)
        layout.addWidget(label)

    def show_settings(self, gain_db: float, mute: bool) -> None:
        if not self.fader.isSliderDown():
            self.fader.blockSignals(True)
            self.fader.setValue(round(gain_db))
            self.fader.blockSignals(False)
        self.gain.setText(f"{gain_db:+.0f} dB")
        self.mute.setChecked(mute)


class AudioStrip(QWidget):
    def __init__(
        self, model: AudioModel, bridge: Bridge, meters: Meters, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._bridge = bridge
        self._meters = meters
        self.strips: dict[str, ChannelStrip] = {}
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self.program = ChannelStrip(PROGRAM, None)
        model.channelsChanged.connect(self._rebuild)
        model.settingsChanged.connect(self._show)
        self._timer = QTimer(self)
        self._timer.setInterval(50)  # 20 Hz: smooth to the eye, nothing for the CPU
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._rebuild()

    def _rebuild(self) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.program:
                widget.deleteLater()
        self.strips = {}
        for name in self._model.channels:
            strip = ChannelStrip(name, self._bridge)
            self._row.addWidget(strip)
            self.strips[name] = strip
            self._show(name)
        self._row.addStretch(1)
        self._row.addWidget(self.program)

    def _show(self, name: str) -> None:
        settings = self._model.channels.get(name)
        strip = self.strips.get(name)
        if settings is not None and strip is not None:
            strip.show_settings(settings.gain_db, settings.mute)

    def refresh(self) -> None:
        levels = self._meters()
        for name, strip in self.strips.items():
            strip.meter.set_levels(levels.get(name, ()))
        self.program.meter.set_levels(levels.get(PROGRAM, ()))
