"""The one source interface, and the thread loop every real source shares.

Like an aiortc track, a source is tiny: a name, a slot to read, start and stop.
`ThreadedSource` owns the hard part once: open, read, publish; on loss show the
slate and retry with backoff, forever, without ever blocking the program clock.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from media.errors import SourceUnavailable
from media.frames import Frame, Size
from media.slate import render_slate
from media.slot import FrameSlot

log = logging.getLogger(__name__)

DEFAULT_SIZE = Size(640, 360)


class SourceState(enum.Enum):
    STARTING = "starting"
    LIVE = "live"
    LOST = "lost"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    state: SourceState
    error: str | None = None
    retries: int = 0  # failed attempts since the last frame


@runtime_checkable
class Source(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def slot(self) -> FrameSlot: ...

    @property
    def status(self) -> SourceStatus: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    signal_timeout: float = 1.0  # no frame for this long: the source is lost
    first_delay: float = 0.25
    max_delay: float = 4.0
    factor: float = 2.0


class ThreadedSource(ABC):
    """Subclasses implement `_open`, `_read` and `_close`; all run on the source thread.

    `_read` returns the next frame, or None when nothing came within ~0.1 s; it
    raises SourceUnavailable when the source is gone. It should return promptly
    once `_stopping` is set.
    """

    def __init__(self, name: str, *, size: Size = DEFAULT_SIZE, retry: RetryPolicy | None = None):
        self._name = name
        self.size = size  # sources deliver at this size so the clock need not rescale
        self._retry = retry or RetryPolicy()
        self._slot = FrameSlot()
        self._status = SourceStatus(SourceState.STOPPED)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def slot(self) -> FrameSlot:
        return self._slot

    @property
    def status(self) -> SourceStatus:
        return self._status

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._status = SourceStatus(SourceState.STARTING)
        self._thread = threading.Thread(target=self._run, name=f"source:{self._name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("source %s did not stop within %.1f s", self._name, timeout)
        self._status = SourceStatus(SourceState.STOPPED)

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> Frame | None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def _run(self) -> None:
        delay = self._retry.first_delay
        retries = 0
        while not self._stopping.is_set():
            error = self._session()
            if self._stopping.is_set():
                break
            if self._status.state is SourceState.LIVE:
                delay, retries = self._retry.first_delay, 0
            retries += 1
            self._show_lost(error, retries)
            self._stopping.wait(delay)
            delay = min(delay * self._retry.factor, self._retry.max_delay)

    def _session(self) -> str:
        """Open and pump frames until the source fails; the reason it failed."""
        try:
            self._open()
            last = time.monotonic()
            while not self._stopping.is_set():
                frame = self._read()
                now = time.monotonic()
                if frame is not None:
                    self._slot.write(frame, captured=now)
                    if self._status.state is not SourceState.LIVE:
                        self._status = SourceStatus(SourceState.LIVE)
                    last = now
                elif now - last > self._retry.signal_timeout:
                    raise SourceUnavailable(f"no frames for {self._retry.signal_timeout:g} s")
            return "stopped"
        except SourceUnavailable as exc:
            return str(exc)
        except Exception as exc:  # a bug or an odd library error must not kill the thread
            log.exception("source %s failed", self._name)
            return f"unexpected error: {exc!r}"
        finally:
            try:
                self._close()
            except Exception:
                log.exception("source %s: close failed", self._name)

    def _show_lost(self, error: str, retries: int) -> None:
        if self._status.state is not SourceState.LOST:
            log.warning("source %s lost: %s", self._name, error)
        latest = self._slot.read()
        if latest is None or not latest.slate:
            self._slot.write(render_slate(self._name, self.size), slate=True)
        self._status = SourceStatus(SourceState.LOST, error, retries)
