"""The switcher as the UI sees it: sources, buses, tally, transition, T-bar, FTB.

A mirror, never an owner: it changes only by engine events (or a full state on start),
and widgets ask the bridge for changes rather than editing it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.engine import events as ev
from app.engine.state import ShowState, SourceInfo, TransitionSettings
from media.switcher import TransitionKind


class SwitcherModel(QObject):
    sourcesChanged = Signal()
    busChanged = Signal()  # program, preview or tally
    transitionChanged = Signal()  # a transition started or ended
    settingsChanged = Signal()
    tbarChanged = Signal(float)
    ftbChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sources: tuple[SourceInfo, ...] = ()
        self.program: str | None = None
        self.preview: str | None = None
        self.on_air: tuple[str, ...] = ()
        self.on_preview: tuple[str, ...] = ()
        self.running: TransitionKind | None = None
        self.manual = False
        self.settings = TransitionSettings()
        self.ftb_duration = 30
        self.tbar = 0.0
        self.tbar_rest = 0.0
        self.ftb = False

    def reset(self, state: ShowState) -> None:
        bus = state.bus_state()
        t = state.switcher.transition
        self.sources = state.sources
        self.program, self.preview = state.program, state.preview
        self.on_air, self.on_preview = bus.program, bus.preview
        self.running = None if t is None else t.kind
        self.settings, self.ftb_duration = state.transition, state.ftb_duration
        self.tbar, self.tbar_rest = state.tbar, state.tbar_rest
        self.ftb = state.fade_to_black
        for signal in (self.sourcesChanged, self.busChanged, self.transitionChanged):
            signal.emit()
        self.settingsChanged.emit()
        self.tbarChanged.emit(self.tbar)
        self.ftbChanged.emit(self.ftb)

    def apply(self, event: object) -> None:
        if isinstance(event, ev.SourcesChanged):
            self.sources = event.sources
            self.sourcesChanged.emit()
        elif isinstance(event, ev.ProgramChanged):
            self.program = event.source
            self.busChanged.emit()
        elif isinstance(event, ev.PreviewChanged):
            self.preview = event.source
            self.busChanged.emit()
        elif isinstance(event, ev.TallyChanged):
            self.on_air, self.on_preview = event.bus.program, event.bus.preview
            self.busChanged.emit()
        elif isinstance(event, ev.TransitionStarted):
            self.running, self.manual = event.kind, event.manual
            self.transitionChanged.emit()
        elif isinstance(event, ev.TransitionEnded):
            self.running, self.manual = None, False
            self.transitionChanged.emit()
        elif isinstance(event, ev.TransitionSettingsChanged):
            self.settings, self.ftb_duration = event.settings, event.ftb_duration
            self.settingsChanged.emit()
        elif isinstance(event, ev.TBarMoved):
            self.tbar, self.tbar_rest = event.position, event.rest
            self.tbarChanged.emit(event.position)
        elif isinstance(event, ev.FadeToBlackChanged):
            self.ftb = event.to_black
            self.ftbChanged.emit(event.to_black)

    def tally(self, name: str) -> str | None:
        """'program', 'preview' or None: the border a source's tile gets."""
        if name in self.on_air:
            return "program"
        if name in self.on_preview:
            return "preview"
        return None

    def source_at(self, number: int) -> SourceInfo | None:
        """Button `number` (1-based), as the hotkeys and bus rows count."""
        return self.sources[number - 1] if 1 <= number <= len(self.sources) else None
