"""The encode thread on a real program clock: both layers, one timeline, never in the way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from media.audio.mixer import AudioMixer
from media.audio.tone import ToneSource
from media.clock import ClockConfig, ProgramClock
from media.encode.config import EncoderConfig
from media.encode.simulcast import SimulcastEncoder
from media.encode.units import LayerUnit
from media.frames import Size
from media.sources.base import ThreadedSource
from media.sources.testpattern import TestPatternSource
from media.switcher import SwitcherState
from tests.media.encode.support import Program
from tests.media.support import wait_for


@pytest.fixture
def clock(running: Callable[[ThreadedSource], ThreadedSource]) -> Iterator[ProgramClock]:
    audio = AudioMixer()
    audio.add(ToneSource("tone"))
    clock = ProgramClock(lambda: SwitcherState(program="Cam1"), ClockConfig(), audio=audio)
    clock.add_source(running(TestPatternSource("Cam1")))
    yield clock
    clock.stop()


class Collect:
    def __init__(self, delay: float = 0.0) -> None:
        self.units: list[LayerUnit] = []
        self._delay = delay
        self._lock = threading.Lock()

    def __call__(self, unit: LayerUnit) -> None:
        with self._lock:
            self.units.append(unit)
        if self._delay:
            time.sleep(self._delay)  # a stand-in for an encoder too slow for the clock


def test_both_layers_follow_the_clock_on_one_timeline(clock: ProgramClock) -> None:
    encoder = SimulcastEncoder(EncoderConfig(encoder="libx264"))
    hi, lo = Collect(), Collect()
    encoder.set_sink("hi", hi)
    encoder.set_sink("lo", lo)
    queue = clock.subscribe("program", "encoder")
    encoder.start(queue)
    clock.start()
    try:
        wait_for(lambda: len([u for u in hi.units if u.video]) >= 90, 10, "1.5 s of hi frames")
    finally:
        clock.unsubscribe("program", queue)
        encoder.stop()
    hi_video = [u.video for u in hi.units if u.video]
    lo_video = [u.video for u in lo.units if u.video]
    assert all(v.pts90 == v.program_pts * 1500 for v in hi_video + lo_video)
    assert hi_video[0].idr and lo_video[0].idr
    assert all(v.program_pts % 2 == 0 for v in lo_video) or encoder.stats().queue_drops
    # Each layer's own Opus (hi stereo, lo mono), on the same pts tick by tick.
    assert [[a.pts90 for a in u.audio] for u in hi.units] == [
        [a.pts90 for a in u.audio] for u in lo.units
    ]
    assert any(u.audio for u in hi.units)
    stats = encoder.stats()
    assert stats.encoder == "libx264" and stats.ticks == len(hi.units)
    assert stats.layers["hi"].frames == len(hi_video) and stats.layers["lo"].idrs >= 1
    assert stats.layers["hi"].encode_ms_p50 > 0


def test_a_stuck_encoder_drops_at_its_queue_and_the_clock_goes_on(clock: ProgramClock) -> None:
    """The clock never waits for the encoder: with the encoder stuck in a sink, the clock
    still ticks, and every tick the encoder could not take is dropped and counted. (How
    steadily it ticks under load is bench/program_clock.py's business, not a test's.)"""
    encoder = SimulcastEncoder(EncoderConfig(encoder="libx264"))
    release = threading.Event()
    taken: list[LayerUnit] = []

    def stuck(unit: LayerUnit) -> None:
        taken.append(unit)
        release.wait(30)  # a stand-in for an encoder far too slow for the clock

    encoder.set_sink("hi", stuck)
    queue = clock.subscribe("program", "encoder", maxsize=2)
    encoder.start(queue)
    clock.start()
    try:
        wait_for(lambda: clock.stats.ticks >= 90, 20, "90 ticks with the encoder stuck")
        clock.stop()  # so the counts below are of one moment
        clock_stats = clock.stats
        stats = encoder.stats()
    finally:
        release.set()
        encoder.stop()
    assert len(taken) == 1 and stats.ticks == 1  # the encoder is still on its first tick
    drops = clock_stats.drops["program:encoder"]
    assert drops == stats.queue_drops
    # Every tick the clock handed over is the encoder's, queued (2 at most) or dropped.
    assert clock_stats.ticks - drops - stats.ticks <= queue.maxsize, (clock_stats, stats)


def test_a_picture_of_another_size_is_scaled_not_fatal() -> None:
    encoder = SimulcastEncoder(EncoderConfig(encoder="libx264"))
    program = Program()
    sizes = [None, Size(1280, 720), Size(480, 360), None]
    units = [encoder.encode_tick(program.tick(pts, size)) for pts, size in enumerate(sizes)]
    assert all(u["hi"].video is not None for u in units)
    assert [u["lo"].video is not None for u in units] == [True, False, True, False]
    assert sum(s.errors for s in encoder.stats().layers.values()) == 0
