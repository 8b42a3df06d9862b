"""A lip-sync test picture: dark, with one full-white frame about once a second.

The gaps between flashes cycle through 0.8, 1.1 and 1.4 s, so a measurement can pair each
flash with its own click even when the sound is more than half a second off (with a
steady 1 s beat, a click 800 ms late would look 200 ms early).

It pairs with `media.audio.click.ClickSource`: the click goes into the audio of exactly the
program tick whose picture was the white frame, so the two leave the program clock
together, to the sample (audio_pts of that tick), whatever the tick timing was.

Why not a `ThreadedSource`: the clock shows each source's latest frame, so a flash drawn on
a thread of its own lands on whichever tick reads the slot next, up to a tick (16.7 ms at
60 fps) after the thread drew it, plus scheduling jitter; nothing downstream could tell
how much. Here nothing is drawn ahead: the slot is read on the clock's own thread while it
composes a tick, and that read decides. Each reading thread sees its own flash once a
second (a monitor reading the slot does not take the program's flash), and the click asks
only about the program clock's thread, which composes the tick and mixes its audio in turn.
"""

from __future__ import annotations

import threading
import time

from media.frames import Frame, Size, solid
from media.slot import FrameSlot, SlotFrame
from media.sources.base import DEFAULT_SIZE, SourceState, SourceStatus, ThreadedSource

DARK = (24, 24, 24)
WHITE = (255, 255, 255)
GAPS_S = (0.8, 1.1, 1.4)


class _FlashSlot(FrameSlot):
    """A slot whose read is the picture for the tick being composed now."""

    def __init__(self, size: Size, gaps_s: tuple[float, ...]) -> None:
        super().__init__()
        self._cycle = sum(gaps_s)
        self._starts = [sum(gaps_s[:i]) for i in range(len(gaps_s))]
        self._dark = SlotFrame(solid(size, DARK), time.monotonic(), 1)
        self._white = SlotFrame(solid(size, WHITE), time.monotonic(), 2)
        self._latest = self._dark
        self._t0 = time.monotonic()
        self._local = threading.local()

    def read(self) -> SlotFrame:
        local = self._local
        elapsed = time.monotonic() - self._t0
        cycles, into = divmod(elapsed, self._cycle)
        event = int(cycles) * len(self._starts) + sum(1 for s in self._starts if s <= into)
        if getattr(local, "event", None) == event:
            return self._dark
        local.event = event
        local.flashed = True
        return self._white

    def take_flash(self) -> bool:
        """Whether this thread's last reads served the flash; asking clears it."""
        local = self._local
        flashed = bool(getattr(local, "flashed", False))
        local.flashed = False
        return flashed


class SyncFlashSource(ThreadedSource):
    """A source with no thread to run: its slot draws nothing, it picks one of two frames
    as the clock reads it. A `ThreadedSource` only to fit where sources are listed and
    started (`returnfeed send`'s plan); `start` and `stop` start no thread."""

    def __init__(
        self, name: str, *, size: Size = DEFAULT_SIZE, gaps_s: tuple[float, ...] = GAPS_S
    ) -> None:
        super().__init__(name, size=size)
        self._flash = _FlashSlot(size, gaps_s)
        self._slot = self._flash

    def start(self) -> None:
        self._status = SourceStatus(SourceState.LIVE)

    def stop(self, timeout: float = 5.0) -> None:
        self._status = SourceStatus(SourceState.STOPPED)

    def take_flash(self) -> bool:
        """Whether the calling thread was served the white frame since it last asked."""
        return self._flash.take_flash()

    @staticmethod
    def is_flash(frame: Frame) -> bool:
        """Whether a frame (of this source, or a program showing it) is the white one."""
        return float(frame.y.mean()) > 128

    def _open(self) -> None:
        """Never called: there is no thread."""

    def _read(self) -> Frame | None:
        return None

    def _close(self) -> None:
        """Nothing to close."""
