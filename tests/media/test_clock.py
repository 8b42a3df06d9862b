"""The clock on its own thread: steady ticks, bounded hand-offs, counters."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import pytest

from media.audio.mixer import AudioMixer
from media.audio.tone import ToneSource
from media.clock import (
    AHEAD_GUARD,
    AHEAD_MIN,
    AHEAD_START,
    AHEAD_WINDOW,
    ClockConfig,
    ComposeBudget,
    OutputFrame,
    ProgramClock,
)
from media.fanout import DropOldestQueue
from media.frames import Size, rgb_to_yuv
from media.switcher import SwitcherState, Transition, TransitionKind
from tests.media.support import still, wait_for

SIZE = Size(64, 36)
STATE = SwitcherState(program="red", preview="blue")


@pytest.fixture
def clock() -> Iterator[ProgramClock]:
    audio = AudioMixer()
    audio.add(ToneSource("tone"))
    clock = ProgramClock(lambda: STATE, ClockConfig(size=SIZE), audio=audio)
    clock.add_source(still("red", (200, 0, 0), SIZE))
    clock.add_source(still("blue", (0, 0, 200), SIZE))
    yield clock
    clock.stop()


def _drain(queue: DropOldestQueue[OutputFrame], delay: float, seen: list[int]) -> None:
    while (item := queue.get(timeout=1.0)) is not None:
        seen.append(item.pts)
        time.sleep(delay)


def test_slow_consumer_drops_and_counts_without_slowing_anyone(clock: ProgramClock) -> None:
    slow = clock.subscribe("program", "slow", maxsize=2)
    fast = clock.subscribe("program", "fast", maxsize=8)
    slow_seen: list[int] = []
    fast_seen: list[int] = []
    readers = [
        threading.Thread(target=_drain, args=(slow, 0.1, slow_seen)),
        threading.Thread(target=_drain, args=(fast, 0.0, fast_seen)),
    ]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    clock.start()
    wait_for(lambda: clock.stats.ticks >= 90, 5.0, "90 ticks")
    elapsed = time.monotonic() - started
    stats = clock.stats
    clock.stop()  # closes the queues, so the readers end
    for reader in readers:
        reader.join(5)
    # The clock kept its rate: pts followed wall time and hand-offs stayed 1/60 s apart.
    assert stats.ticks + stats.skipped_ticks >= 0.9 * elapsed * 60
    assert float(np.median(np.diff(clock.tick_times()))) == pytest.approx(1 / 60, abs=0.001)
    assert stats.drops["program:slow"] > 30
    assert stats.drops["program:slow"] == slow.dropped
    assert fast.dropped == 0 and len(fast_seen) == fast.put_count
    # The slow reader saw the newest frames, not a backlog: its pts jump ahead.
    assert max(b - a for a, b in itertools.pairwise(slow_seen)) > 3
    assert fast_seen == sorted(fast_seen)


def test_program_frames_carry_aligned_audio(clock: ProgramClock) -> None:
    program = clock.subscribe("program", "encoder", maxsize=64)
    clock.start()
    items = [wait_for(lambda: program.get(0.5), 5.0, "a program frame") for _ in range(10)]
    for item in items:
        assert item.time_base == Fraction(1, 60)
        assert item.audio is not None
        assert item.audio.count == 800 and item.audio.sample_rate == 48_000
        assert item.audio.pts == item.pts * 800  # same instant in 1/48000
    assert [b.pts - a.pts for a, b in itertools.pairwise(items)] == [1] * 9


def test_cut_scheduled_at_a_time_lands_on_that_frame() -> None:
    show = {"state": STATE}
    clock = ProgramClock(lambda: show["state"], ClockConfig(size=SIZE))
    clock.add_source(still("red", (200, 0, 0), SIZE))
    clock.add_source(still("blue", (0, 0, 200), SIZE))
    try:
        program = clock.subscribe("program", "encoder", maxsize=600)
        clock.start()
        wait_for(lambda: clock.stats.ticks >= 10, 5.0, "10 ticks")
        cut_at = clock.pts_at(time.monotonic())  # the engine's "cut now"
        cut = Transition(TransitionKind.CUT, "blue", start_pts=cut_at)
        show["state"] = SwitcherState(program="red", preview="blue", transition=cut)
        wait_for(lambda: clock.stats.ticks >= cut_at + 5, 5.0, "ticks after the cut")
        frames = {}
        while (item := program.get_nowait()) is not None:
            frames[item.pts] = int(item.frame.y[0, 0])
        red_y, blue_y = rgb_to_yuv((200, 0, 0))[0], rgb_to_yuv((0, 0, 200))[0]
        assert frames[cut_at - 1] == red_y
        assert frames[cut_at] == blue_y  # the first frame after the cut is the new source
        assert all(y == (blue_y if pts >= cut_at else red_y) for pts, y in frames.items())
    finally:
        clock.stop()


def test_stall_skips_ticks_instead_of_bursting() -> None:
    stalls = iter([0.15])

    def provider() -> SwitcherState:
        delay = next(stalls, 0.0)
        time.sleep(delay)  # one slow state read on the clock thread: a stall
        return STATE

    clock = ProgramClock(provider, ClockConfig(size=SIZE))
    try:
        out = clock.subscribe("program", "all", maxsize=100)
        clock.start()
        wait_for(lambda: clock.stats.ticks >= 20, 5.0, "20 ticks")
        stats = clock.stats
        assert stats.skipped_ticks >= 6  # 0.15 s at 60 fps, the first tick's own slot aside
        assert stats.late_ticks >= 1
        first = out.get(1)
        second = out.get(1)
        assert first is not None and second is not None
        assert second.pts - first.pts >= 7  # pts stayed on wall time
    finally:
        clock.stop()


def test_pts_for_a_time_and_clean_stop(clock: ProgramClock) -> None:
    clock.start()
    wait_for(lambda: clock.stats.ticks >= 5, 5.0, "5 ticks")
    now = time.monotonic()
    pts = clock.pts_at(now)
    latest = clock.latest_program
    assert latest is not None and abs(pts - latest.pts) <= 2
    clock.stop()
    names = {t.name for t in threading.enumerate()}
    assert "program-clock" not in names


def test_working_size_is_capped() -> None:
    with pytest.raises(ValueError):
        ClockConfig(size=Size(3840, 2160))


def test_the_compose_budget_follows_what_composing_costs() -> None:
    period = 1 / 60
    budget = ComposeBudget(None, period)
    assert budget.ahead == AHEAD_START  # nothing timed yet
    for _ in range(60):
        budget.spent(0.0004)  # a cut: a fraction of a millisecond
    assert budget.ahead == pytest.approx(AHEAD_MIN)
    budget.spent(0.003)  # a mix starts: the budget covers its longest compose at once
    assert budget.ahead == pytest.approx(0.003 + AHEAD_GUARD)
    for _ in range(AHEAD_WINDOW):
        budget.spent(0.0009)  # ... and comes back down once it has left the window
    assert budget.ahead == pytest.approx(0.0009 + AHEAD_GUARD)
    budget.spent(0.5)  # a stall: never more than half a frame
    assert budget.ahead == pytest.approx(period / 2)
    assert ComposeBudget(0.004, period).ahead == 0.004  # a fixed budget stays fixed
