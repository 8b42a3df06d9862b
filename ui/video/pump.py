"""One timer pulls the latest frame for every view (Friture's analyzer loop, for video).

Sources and the program clock publish by swapping a reference; the pump reads it at its
own pace and converts only what changed, so a slow UI shows fewer frames but never slows
or queues the media threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt, QTimer

from media.frames import Frame

from .convert import to_image
from .view import VideoView

# The newest frame and something that changes when it does (the slot entry or tick object).
Feed = Callable[[], tuple[object, Frame] | None]


@dataclass
class _Entry:
    view: VideoView
    feed: Feed
    every: int  # pull on every n-th tick: program every tick, preview and tiles less often
    phase: int  # which of those ticks: views of one rate are spread so no tick converts all
    fast: bool  # cheaper scaling for small tiles
    key: object = None
    size: QSize | None = None


class FramePump(QObject):
    def __init__(self, interval_ms: int = 8, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[_Entry] = []
        self._ticks = 0
        self.conversions = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.pull)

    def add(self, view: VideoView, feed: Feed, *, every: int = 1, fast: bool = False) -> None:
        every = max(1, every)
        phase = sum(1 for e in self._entries if e.every == every) % every
        self._entries.append(_Entry(view, feed, every, phase, fast))

    @property
    def ticks_per_second(self) -> float:
        return 1000 / max(1, self._timer.interval())

    def remove(self, view: VideoView) -> None:
        self._entries = [e for e in self._entries if e.view is not view]

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def pull(self) -> None:
        self._ticks += 1
        for entry in self._entries:
            if self._ticks % entry.every != entry.phase or not entry.view.isVisible():
                continue
            latest = entry.feed()
            if latest is None:
                continue
            key, frame = latest
            size = entry.view.picture_size()
            if key is entry.key and size == entry.size:
                continue
            entry.key, entry.size = key, size
            entry.view.set_image(to_image(frame, size, fast=entry.fast), key)
            self.conversions += 1
