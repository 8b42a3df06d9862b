"""The audio strip: a channel strip per mixer channel, "Add input…", and the program's.

Settings go to the engine as commands; levels are pulled from the mixer's meters on a
timer (they change every 10 ms, no event could keep up, and none needs to), and each
channel's state (live, lost, silent ...) on a slower one.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QWidget

from app.engine.sources import AudioSpec
from app.engine.state import SourceInfo
from media.audio.meter import MeterReading
from media.audio.mixer import PROGRAM
from media.audio.source import AudioStatus

from ..bridge import Bridge
from ..models.audio import AudioModel
from .audio_channel import ChannelStrip
from .audio_inputs import AddInputButton, AudioInputs, InputsCore

LEVELS_MS = 50  # 20 Hz: smooth to the eye, nothing for the CPU
STATUS_MS = 250  # states change in seconds; 4 Hz shows a lost device at once


class AudioCore(InputsCore, Protocol):
    """What the strip reads of app.runtime.Runtime, from the UI thread."""

    def meters(self) -> dict[str, MeterReading]: ...

    def audio_statuses(self) -> dict[str, AudioStatus]: ...

    def limiter_reduction_db(self) -> float: ...


class AudioStrip(QWidget):
    inputsChanged = Signal(object)  # tuple[AudioSpec, ...]: the inputs now running, to save
    failed = Signal(str)

    def __init__(
        self, model: AudioModel, bridge: Bridge, core: AudioCore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._bridge = bridge
        self._core = core
        self.strips: dict[str, ChannelStrip] = {}
        self._inputs_by_channel: dict[str, AudioSpec] = {}
        self.inputs = AudioInputs(core, self)
        self.inputs.changed.connect(self.inputsChanged)
        self.inputs.changed.connect(self._relabel)  # labels, even where no name changed
        self.inputs.failed.connect(self.failed)
        self.add_input = AddInputButton()
        self.add_input.chosen.connect(self.inputs.add)
        self.program = ChannelStrip(PROGRAM, self.tr("PGM"), None, "program")
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        outer.addWidget(self._scroller(), 1)
        outer.addWidget(self.program)
        model.channelsChanged.connect(self._rebuild)
        model.settingsChanged.connect(self._show)
        self._levels = QTimer(self)
        self._levels.setInterval(LEVELS_MS)
        self._levels.timeout.connect(self.refresh)
        self._levels.start()
        self._statuses = QTimer(self)
        self._statuses.setInterval(STATUS_MS)
        self._statuses.timeout.connect(self.refresh_statuses)
        self._statuses.start()
        self._rebuild()

    def _scroller(self) -> QScrollArea:
        """Channels side by side, scrolling sideways when there are more than fit."""
        self._channels = QWidget()
        self._channels.setObjectName("audioChannels")
        self._row = QHBoxLayout(self._channels)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(4)
        scroll = QScrollArea()
        scroll.setObjectName("audioScroll")
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._channels)
        return scroll

    def _rebuild(self) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.add_input:
                widget.deleteLater()
        self._inputs_by_channel = self._core.audio_inputs
        self.strips = {name: self._strip(name) for name in self._names()}
        for name, strip in self.strips.items():
            self._row.addWidget(strip)
            self._show(name)
        self._row.addWidget(self.add_input, 0, Qt.AlignmentFlag.AlignBottom)
        self._row.addStretch(1)
        self.refresh_statuses()

    def _names(self) -> list[str]:
        """A source's own sound first, in the sources' order, then the inputs."""
        sources = {s.name for s in self._model.sources}
        names = [s.name for s in self._model.sources if s.name in self._model.channels]
        return names + [n for n in self._model.channels if n not in sources]

    def _relabel(self) -> None:
        """The inputs the core runs now: the same channels keep their strips (a fader being
        dragged stays in the hand), with their new labels."""
        self._inputs_by_channel = self._core.audio_inputs
        if list(self.strips) != self._names():
            self._rebuild()
            return
        for name, strip in self.strips.items():
            if strip.kind == "input":
                strip.set_label(self._input_label(name))

    def _input_label(self, name: str) -> str:
        spec = self._inputs_by_channel.get(name)
        label = (spec.label or spec.target) if spec is not None else name
        return label or name

    def _strip(self, name: str) -> ChannelStrip:
        if self._model.is_source(name):
            title = self._model.source_title(name)
            return ChannelStrip(name, title, self._bridge, "source")
        strip = ChannelStrip(name, self._input_label(name), self._bridge, "input", self._sources)
        strip.removeRequested.connect(self.remove_input)
        return strip

    def _sources(self) -> tuple[SourceInfo, ...]:
        return self._model.sources

    def remove_input(self, channel: str) -> None:
        spec = self._inputs_by_channel.get(channel)
        if spec is not None:
            self.inputs.remove(spec)

    def _show(self, name: str) -> None:
        settings = self._model.channels.get(name)
        strip = self.strips.get(name)
        if settings is not None and strip is not None:
            follow = settings.follow_video
            strip.show_settings(settings, self._model.source_title(follow) if follow else "")

    def refresh(self) -> None:
        levels = self._core.meters()
        for name, strip in self.strips.items():
            strip.show_reading(levels.get(name))
        self.program.show_reading(levels.get(PROGRAM))
        self.program.show_limiting(self._core.limiter_reduction_db())

    def refresh_statuses(self) -> None:
        statuses = self._core.audio_statuses()
        for name, strip in self.strips.items():
            strip.show_status(statuses.get(name))
