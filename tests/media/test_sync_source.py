"""The lip-sync source: the flash picture and the click leave the program clock on the same
tick, to the sample, on a real clock, whatever else reads the source."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from media.audio.click import CLICK_S, ClickSource
from media.audio.frames import SAMPLE_RATE, audio_pts
from media.audio.mixer import AudioMixer
from media.clock import ClockConfig, OutputFrame, ProgramClock
from media.frames import Size
from media.sources.syncflash import SyncFlashSource
from media.switcher import SwitcherState

SIZE = Size(320, 180)


def first_sound(samples: np.ndarray) -> int | None:
    loud = np.flatnonzero(np.abs(samples[:, 0]) > 1e-4)
    return int(loud[0]) if loud.size else None


@pytest.mark.parametrize("genlocked", [False, True])  # `returnfeed send` locks to it
def test_the_click_is_in_the_audio_of_exactly_the_flash_tick(genlocked: bool) -> None:
    flash = SyncFlashSource("Sync", size=SIZE, gaps_s=(0.2, 0.3))
    click = ClickSource(flash=flash)
    mixer = AudioMixer()
    mixer.add(click)
    clock = ProgramClock(
        lambda: SwitcherState(program="Sync", preview="Sync"),
        ClockConfig(size=SIZE, fps=Fraction(60)),
        audio=mixer,
    )
    clock.add_source(flash)
    if genlocked:  # the lock watches the slot without taking the clock thread's flash
        clock.follow("Sync")
    queue = clock.subscribe("program", "test", maxsize=1000)
    stop = threading.Event()

    def monitor() -> None:  # a multiview reading the same slot must not take the flash
        while not stop.is_set():
            flash.slot.read()
            time.sleep(0.003)

    watcher = threading.Thread(target=monitor)
    flash.start()
    watcher.start()
    clock.start()
    try:
        time.sleep(1.6)
    finally:
        clock.stop()
        stop.set()
        watcher.join()
    frames: list[OutputFrame] = []
    while (item := queue.get_nowait()) is not None:
        frames.append(item)
    assert len(frames) > 60
    flashes = 0
    for frame in frames:
        assert frame.audio is not None
        assert frame.audio.pts == audio_pts(frame.pts, Fraction(60))
        onset = first_sound(frame.audio.samples)
        if SyncFlashSource.is_flash(frame.frame):
            flashes += 1
            # The click starts in this tick's first samples (its ramp starts at zero).
            assert onset is not None and onset <= 2, (frame.pts, onset)
            assert frame.audio.pts in click.clicks
        else:
            assert onset is None, (frame.pts, onset)
    assert flashes >= 5, flashes


def test_alone_the_click_is_a_pure_function_of_the_sample_position() -> None:
    click = ClickSource()
    block = click.read(SAMPLE_RATE - 10, 800)
    assert first_sound(block) in (10, 11)
    # The same position read again (or in other block sizes) gives the same samples.
    whole = click.read(SAMPLE_RATE - 10, 800)
    parts = np.concatenate([click.read(SAMPLE_RATE - 10, 300), click.read(SAMPLE_RATE + 290, 500)])
    assert np.array_equal(block, whole) and np.array_equal(block, parts)
    length = np.flatnonzero(np.abs(block[:, 0]) > 1e-4)
    assert abs((length[-1] - length[0] + 1) / SAMPLE_RATE - CLICK_S) < 0.0002
    assert first_sound(click.read(SAMPLE_RATE + 800, 800)) is None
