"""Encoder/sender fixtures: skip SRT tests without libsrt; fail a test that leaves an
encode or send thread running or an SRT socket open."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from media.audio.mixer import AudioMixer
from media.audio.tone import ToneSource
from media.clock import ClockConfig, ProgramClock
from media.sources.testpattern import TestPatternSource
from media.srt.handle import open_sockets
from media.switcher import SwitcherState
from tests.media.encode.show import Show


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    yield
    ours = ("encode", "send:")
    deadline = time.monotonic() + 2.0
    while True:
        left = [t.name for t in threading.enumerate() if t.name.startswith(ours)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not left, f"threads still running after the test: {left}"
    assert not open_sockets(), f"SRT sockets left open: {sorted(open_sockets())}"


@pytest.fixture
def show() -> Iterator[Show]:
    audio = AudioMixer()
    audio.add(ToneSource("tone"))
    clock = ProgramClock(lambda: SwitcherState(program="Cam1"), ClockConfig(), audio=audio)
    source = TestPatternSource("Cam1")
    clock.add_source(source)
    source.start()
    clock.start()
    s = Show(source, clock)
    yield s
    for output in s.outputs:
        output.stop()
    clock.stop()
    source.stop()
