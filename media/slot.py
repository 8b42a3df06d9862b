"""The latest-frame slot: one writer (a source thread) and any number of readers.

A write swaps one immutable reference, so readers never block the writer and
never see half a frame; the condition is only for readers that want to wait.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from media.frames import Frame


@dataclass(frozen=True, slots=True)
class SlotFrame:
    frame: Frame
    captured: float  # time.monotonic() when the frame was taken
    seq: int  # increases by one per write; a reader caches by it
    slate: bool = False  # True when this is the "NO SIGNAL" picture, not the source


class FrameSlot:
    def __init__(self) -> None:
        self._latest: SlotFrame | None = None
        self._seq = 0
        self._changed = threading.Condition()

    def write(self, frame: Frame, *, captured: float | None = None, slate: bool = False) -> int:
        self._seq += 1
        stamp = time.monotonic() if captured is None else captured
        self._latest = SlotFrame(frame, stamp, self._seq, slate)
        with self._changed:
            self._changed.notify_all()
        return self._seq

    def read(self) -> SlotFrame | None:
        return self._latest

    def peek(self) -> SlotFrame | None:
        """The latest frame, for watching a source's timing: never a read that decides
        something (a slot whose `read` serves a picture per reader, the sync flash, keeps
        what it serves to its readers)."""
        return self._latest

    def wait_newer(self, seq: int, timeout: float) -> SlotFrame | None:
        """The first frame with a sequence number above `seq`, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                latest = self._latest
                if latest is not None and latest.seq > seq:
                    return latest
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
