"""Audio channels and their settings, mirrored from the engine; meters are pulled, not pushed."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal

from app.engine import events as ev
from app.engine.state import ShowState
from media.audio.mixer import ChannelSettings


class AudioModel(QObject):
    channelsChanged = Signal()  # the list of channels changed
    settingsChanged = Signal(str)  # one channel's gain, mute or follow changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.channels: dict[str, ChannelSettings] = {}

    def reset(self, state: ShowState) -> None:
        self._set(state.audio)

    def apply(self, event: object) -> None:
        if isinstance(event, ev.AudioChanged):
            self._set(event.channels)

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
