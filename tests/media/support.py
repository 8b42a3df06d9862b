"""Helpers for the media tests: polling with a deadline, sources holding a fixed picture,
and a source's picture and sound read tick by tick as the program clock reads them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pytest

from media.audio.frames import F32, SAMPLE_RATE
from media.audio.source import AudioSource
from media.frames import Frame, Size, solid
from media.slot import FrameSlot
from media.sources.base import SourceState, SourceStatus
from media.sources.ndi import NdiConfig, start_ndi

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.005)


CLOCK_FPS = 60
TICK = SAMPLE_RATE // CLOCK_FPS


@dataclass(frozen=True, slots=True)
class Tick:
    white: bool  # the picture shown at this tick is a (sync) flash
    audio: F32  # the samples read with it


def drive(slot: FrameSlot, audio: AudioSource, seconds: float) -> list[Tick]:
    """Slot, then audio, on a 60 fps deadline; late ticks are skipped, as the clock does."""
    ticks: list[Tick] = []
    seq, white = -1, False
    t0, pts = time.monotonic(), 0
    while pts < seconds * CLOCK_FPS:
        time.sleep(max(0.0, t0 + pts / CLOCK_FPS - time.monotonic()))
        pts = max(pts, int((time.monotonic() - t0) * CLOCK_FPS))
        latest = slot.read()
        if latest is not None and latest.seq != seq:
            seq, white = latest.seq, float(latest.frame.y[::16, ::16].mean()) > 200
        ticks.append(Tick(white, audio.read(pts * TICK, TICK)))
        pts += 1
    return ticks


class StillSource:
    """A source whose slot holds one fixed picture: for pure rendering tests."""

    def __init__(self, name: str, frame: Frame) -> None:
        self._name = name
        self._slot = FrameSlot()
        self._slot.write(frame)

    @property
    def name(self) -> str:
        return self._name

    @property
    def slot(self) -> FrameSlot:
        return self._slot

    @property
    def status(self) -> SourceStatus:
        return SourceStatus(SourceState.LIVE)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


SMALL = Size(64, 36)


def still(name: str, rgb: tuple[int, int, int], size: Size = SMALL) -> StillSource:
    return StillSource(name, solid(size, rgb))


# mDNS finds nothing on this machine; asking 127.0.0.1 directly finds a local sender.
LOOPBACK = NdiConfig(extra_ips=("127.0.0.1",))
SENDER_LUMA = 180


class LoopbackSender:
    """An NDI sender made with the same package: a real source on this machine."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._ndi = start_ndi(LOOPBACK)
        self._sender: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        settings = self._ndi.SendCreate(p_ndi_name=self.name, clock_video=False)
        self._sender = self._ndi.send_create(settings)
        self._stop.clear()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        ndi = self._ndi
        uyvy = np.empty((360, 640, 2), np.uint8)
        uyvy[:, :, 0], uyvy[:, :, 1] = 128, SENDER_LUMA
        frame = ndi.VideoFrameV2(640, 360, ndi.FOURCC_VIDEO_TYPE_UYVY, 60, 1)
        frame.data = uyvy
        while not self._stop.wait(1 / 60):
            ndi.send_send_video_v2(self._sender, frame)

    def tally(self) -> tuple[bool, bool]:
        tally = self._ndi.Tally()
        self._ndi.send_get_tally(self._sender, tally, 0)
        return bool(tally.on_program), bool(tally.on_preview)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._sender is not None:
            self._ndi.send_destroy(self._sender)
            self._sender = None
