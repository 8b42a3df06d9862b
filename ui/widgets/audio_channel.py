"""One channel of the audio strip: state badge, meter, fader, loudness, AFV, mute, name.

Three kinds: a video source's own sound (AFV toggles following that source), an input of
its own (AFV is a menu of sources to follow, or always live; it can be removed), and the
program (meter and loudness only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.commands import SetAudioFollowVideo, SetGain, SetMute
from app.engine.state import SourceInfo
from media.audio.loudness import MIN_LUFS
from media.audio.meter import MeterReading
from media.audio.mixer import ChannelSettings
from media.audio.source import AudioState, AudioStatus

from ..bridge import Bridge
from ..core_text import core_text
from .meter import Meter

Kind = Literal["source", "input", "program"]
FADER_MIN_DB, FADER_MAX_DB = -60, 12


class ChannelStrip(QWidget):
    removeRequested = Signal(str)  # an input's channel name

    def __init__(
        self,
        name: str,
        label: str,
        bridge: Bridge | None,
        kind: Kind,
        sources: Callable[[], tuple[SourceInfo, ...]] = tuple,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name, self.kind = name, kind
        self._bridge = bridge
        self._sources = sources
        self._follow: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(2)
        self.badge = QLabel()
        self.badge.setObjectName("audioBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.meter = Meter()
        self.fader = QSlider(Qt.Orientation.Vertical)
        self.fader.setObjectName("fader")
        self.fader.setRange(FADER_MIN_DB, FADER_MAX_DB)
        self.fader.setToolTip(self.tr("Gain (dB)"))
        self.gain = QLabel("0 dB")
        self.gain.setObjectName("muted")
        self.loudness = QLabel("—")
        self.loudness.setObjectName("loudness")
        self.loudness.setToolTip(self.tr("Short-term loudness (LUFS)"))
        self.afv = QToolButton()
        self.afv.setObjectName("afv")
        self.afv.setText(self.tr("AFV"))
        self.afv.setCheckable(True)
        self.mute = QPushButton(self.tr("MUTE"))
        self.mute.setObjectName("mute")
        self.mute.setCheckable(True)
        self.title = label
        self.label = QLabel()
        self.label.setObjectName("channelName")
        self.set_label(label)
        for widget in (self.gain, self.loudness, self.label):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for button in (self.afv, self.mute):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.meter.setMinimumHeight(40)  # the control strip is short: every pixel counts
        if kind != "program":
            self.show_status(None)
        else:
            self.badge.hide()
        row = QHBoxLayout()
        row.setSpacing(2)
        row.addWidget(self.meter)
        layout.addLayout(row, 1)
        if bridge is not None:
            row.addWidget(self.fader)
            layout.addWidget(self.gain)
        # One slot: the loudness while live, else the badge saying why there is none.
        layout.addWidget(self.loudness)
        layout.addWidget(self.badge)
        if bridge is not None:
            self._controls(bridge, layout)
        layout.addLayout(self._name_row())

    def _controls(self, bridge: Bridge, layout: QVBoxLayout) -> None:
        name = self.name
        self.fader.valueChanged.connect(lambda v: bridge.submit(SetGain(name, float(v))))
        self.mute.clicked.connect(lambda on: bridge.submit(SetMute(name, on)))
        if self.kind == "input":
            menu = QMenu(self.afv)
            menu.aboutToShow.connect(lambda: self._fill_follow_menu(menu))
            self.afv.setMenu(menu)
            self.afv.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        else:
            self.afv.clicked.connect(
                lambda on: bridge.submit(SetAudioFollowVideo(name, name if on else None))
            )
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        buttons.addWidget(self.afv)
        buttons.addWidget(self.mute)
        layout.addLayout(buttons)

    def _name_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(0)
        row.addWidget(self.label, 1)
        if self.kind == "input":
            remove = QAction(self.tr("Remove input"), self)
            remove.triggered.connect(lambda: self.removeRequested.emit(self.name))
            self.addAction(remove)
            self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            self.remove = QToolButton()
            self.remove.setObjectName("removeInput")
            self.remove.setDefaultAction(remove)
            self.remove.setText("\N{MULTIPLICATION SIGN}")
            self.remove.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(self.remove)
        return row

    def _fill_follow_menu(self, menu: QMenu) -> None:
        """Always live, or follow one source: rebuilt on each opening, so it lists today's."""
        menu.clear()
        group = QActionGroup(menu)
        choices: list[tuple[str, str | None]] = [(self.tr("Always live"), None)]
        choices += [(s.title, s.name) for s in self._sources()]
        for text, source in choices:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(source == self._follow)
            group.addAction(action)
            action.triggered.connect(lambda _=False, s=source: self.follow(s))

    def follow(self, source: str | None) -> None:
        if self._bridge is not None:
            self._bridge.submit(SetAudioFollowVideo(self.name, source))

    # --- showing what the core says --------------------------------------------------------

    def set_label(self, label: str) -> None:
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(label, Qt.TextElideMode.ElideRight, 72))
        self.label.setToolTip(label)

    def show_settings(self, settings: ChannelSettings, source_title: str) -> None:
        if not self.fader.isSliderDown():
            self.fader.blockSignals(True)
            self.fader.setValue(round(settings.gain_db))
            self.fader.blockSignals(False)
        self.gain.setText(f"{settings.gain_db:+.0f} dB")
        self.mute.setChecked(settings.mute)
        self._follow = settings.follow_video
        self.afv.setChecked(settings.follow_video is not None)
        if settings.follow_video is None:
            self.afv.setToolTip(self.tr("Always live; AFV: live only while a source is on air"))
        else:
            self.afv.setToolTip(self.tr("Live only while {0} is on air").format(source_title))

    def show_reading(self, reading: MeterReading | None) -> None:
        self.meter.set_levels(reading.peak_dbfs if reading is not None else ())
        lufs = reading.loudness_lufs if reading is not None else MIN_LUFS
        self.loudness.setText("—" if lufs <= MIN_LUFS else f"{lufs:.0f} LUFS")

    def show_status(self, status: AudioStatus | None) -> None:
        state = status.state if status is not None else AudioState.STARTING
        text = self._badge_text(state)
        if self.badge.text() != text or self.badge.property("state") != state.value:
            self.badge.setText(text)
            self.badge.setProperty("state", state.value)
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)
        self.badge.setToolTip(core_text(status.error or "") if status is not None else "")
        self.badge.setVisible(state is not AudioState.LIVE)
        self.loudness.setVisible(state is AudioState.LIVE)
        if status is not None and status.sample_rate and status.channels:
            rate = self.tr("{0} Hz · {1} ch").format(status.sample_rate, status.channels)
            self.label.setToolTip(f"{self.title}\n{rate}")

    def show_limiting(self, reduction_db: float) -> None:
        """The program's limiter at work: a LIMIT badge while it pulls more than 0.5 dB."""
        limiting = reduction_db > 0.5
        if limiting and self.badge.property("state") != "limit":
            self.badge.setText(self.tr("LIMIT"))
            self.badge.setProperty("state", "limit")
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)
        if limiting:
            self.badge.setToolTip(
                self.tr("The limiter holds the mix {0:.1f} dB down").format(reduction_db)
            )
        self.badge.setVisible(limiting)

    def _badge_text(self, state: AudioState) -> str:
        # Literal tr() calls, so the Korean table test finds every one.
        match state:
            case AudioState.LIVE:
                return ""
            case AudioState.LOST:
                return self.tr("LOST")
            case AudioState.SILENT:
                return self.tr("SILENT")
            case AudioState.NO_AUDIO:
                return self.tr("NO AUDIO")
            case AudioState.STOPPED:
                return self.tr("STOPPED")
            case _:
                return self.tr("STARTING")
