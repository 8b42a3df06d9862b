"""Audio channels and their settings, mirrored from the engine; meters are pulled, not pushed.

A channel named like a video source is that source's own sound; any other channel is an
input of its own (a microphone, a tone), whose spec the core keeps (`Runtime.audio_inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal

from app.engine import events as ev
from app.engine.state import ShowState, SourceInfo
from media.audio.mixer import ChannelSettings


class AudioModel(QObject):
    channelsChanged = Signal()  # the list of channels, or the sources they follow, changed
    settingsChanged = Signal(str)  # one channel's gain, mute or follow changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.channels: dict[str, ChannelSettings] = {}
        self.sources: tuple[SourceInfo, ...] = ()

    def reset(self, state: ShowState) -> None:
        self.sources = state.sources
        self.channels = dict(state.audio)
        self.channelsChanged.emit()

    def apply(self, event: object) -> None:
        if isinstance(event, ev.AudioChanged):
            self._set(event.channels)
        elif isinstance(event, ev.SourcesChanged):
            self.sources = event.sources
            self.channelsChanged.emit()

    def is_source(self, channel: str) -> bool:
        return any(s.name == channel for s in self.sources)

    def source_title(self, name: str) -> str:
        return next((s.title for s in self.sources if s.name == name), name)

    def _set(self, channels: Mapping[str, ChannelSettings]) -> None:
        new = dict(channels)
        if list(new) != list(self.channels):
            self.channels = new
            self.channelsChanged.emit()
            return
        changed = [name for name, s in new.items() if self.channels.get(name) != s]
        self.channels = new
        for name in changed:
            self.settingsChanged.emit(name)
