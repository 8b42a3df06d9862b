"""Genlock: the program clock's ticks follow a reference source's pictures.

The lock is pure, so most of this drives it with a simulated clock and source: ticks every
`period` (moved by the shifts the lock returns), pictures every `interval` from a random
phase with arrival jitter. The last test runs the real clock thread on a real test pattern.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from media.audio.ring import AudioRing
from media.clock import ClockConfig, ProgramClock
from media.frames import Size, solid
from media.genlock import EARLY_LIMIT, MAX_STEP, GenlockStatus, PhaseLock
from media.slot import SlotFrame
from media.sources.testpattern import TestPatternSource
from media.switcher import SwitcherState

P60 = 1 / 60
PICTURE = solid(Size(16, 16))


@dataclass
class Run:
    waits: list[float] = field(default_factory=list)  # per new picture, seconds
    shifts: list[float] = field(default_factory=list)
    late: list[float] = field(default_factory=list)  # when a picture missed its tick
    seq: int = 0  # the last picture counted in `waits`
    ticks: list[float] = field(default_factory=list)  # when each tick was composed
    lock: PhaseLock = field(default_factory=lambda: PhaseLock(P60))


def simulate(
    seconds: float,
    interval: float,
    *,
    phase: float,
    jitter: float = 0.0,
    seed: int = 1,
    slate_after: float | None = None,
) -> Run:
    """Ticks of a 60 fps clock against pictures every `interval`, arriving `phase` into it."""
    rng = random.Random(seed)
    run = Run()
    count = int(seconds / interval)
    arrivals = [phase + k * interval + rng.uniform(0, jitter) for k in range(count)]
    t0, n, k, latest = 0.0, 0, 0, None
    while (at := t0 + n * P60) < seconds:
        while k < len(arrivals) and arrivals[k] <= at:
            slate = slate_after is not None and arrivals[k] >= slate_after
            latest = SlotFrame(PICTURE, arrivals[k], k + 1, slate)
            if k > 0 and at - arrivals[k] >= P60:  # it missed the tick after its arrival
                run.late.append(at)
            k += 1
        if latest is not None and latest.seq != run.seq and not latest.slate:
            run.waits.append(at - latest.captured)
            run.seq = latest.seq
        run.ticks.append(at)
        shift = run.lock.update("ref", latest, at)
        run.shifts.append(shift)
        t0 += shift
        n += 1
    return run


@pytest.mark.parametrize("phase", [0.0005, 0.004, 0.008, 0.0125, 0.0165])
def test_a_60_fps_reference_is_composed_just_after_it_arrives(phase: float) -> None:
    run = simulate(5.0, P60, phase=phase, jitter=0.0002)
    status = run.lock.status
    assert status.locked and status.note == ""
    # Free-running, every picture would wait `P60 - phase`: now about the margin.
    assert max(run.waits[-60:]) < status.margin_ms / 1000 + 0.0005
    assert min(run.waits[-60:]) > 0
    # Locking later than the free-running phase skips one picture, once; none after.
    assert len(run.late) <= 1 and all(at < 3.5 for at in run.late)
    assert max(abs(s) for s in run.shifts) <= MAX_STEP  # never more than a quarter ms a tick
    # Never much earlier than it started: microphones' rings are read on these ticks.
    assert min(itertools.accumulate(run.shifts)) > -(EARLY_LIMIT + MAX_STEP)


def test_a_late_waking_clock_moves_nothing() -> None:
    """A tick that wakes late sees a long wait once: not a reason to move every tick."""
    run = simulate(3.0, P60, phase=0.009)
    lock, t = run.lock, 3.0
    assert lock.status.locked
    seq = 10_000
    shifts = []
    for late in (0.004, 0.0, 0.006, 0.0):
        seq += 1
        shifts.append(lock.update("ref", SlotFrame(PICTURE, t, seq), t + 0.002 + late))
        t += P60
    assert shifts[0] == shifts[2] == 0.0


def ring_underflows(ticks: list[float], block_ms: int, phase: float) -> int:
    """Samples of silence a ring read one tick's worth at `ticks` gives, its device
    pushing `block_ms` blocks in real time from `phase`."""
    ring = AudioRing()
    pushes = [phase + k * block_ms / 1000 for k in range(int(ticks[-1] * 1000 / block_ms))]
    for _, is_read in sorted([(t, False) for t in pushes] + [(t, True) for t in ticks]):
        if is_read:
            ring.read(800)
        else:
            ring.push(np.zeros((48 * block_ms, 2), np.float32))
    return ring.underflows


@pytest.mark.parametrize("block_ms", [5, 10, 20, 40])
def test_locking_never_empties_a_microphones_ring(block_ms: int) -> None:
    """A device fills its ring in blocks, in real time; the clock reads a tick's worth.

    Pictures that wait 4.7 ms need the ticks ~3.5 ms earlier: read that much sooner, the
    ring would be short at most block phases. The lock moves them later instead, and the
    ring runs short no more often than on the free-running ticks."""
    run = simulate(6.0, P60, phase=0.012)
    assert run.lock.status.locked
    free = [n * P60 for n in range(len(run.ticks))]
    for phase in np.linspace(0, block_ms / 1000, 9, endpoint=False):
        locked = ring_underflows(run.ticks, block_ms, phase)
        assert locked <= ring_underflows(free, block_ms, phase), f"phase {phase * 1000:.1f} ms"


def test_a_30_fps_reference_locks_every_other_tick() -> None:
    run = simulate(5.0, 2 * P60, phase=0.010, jitter=0.0002)
    assert run.lock.status.locked
    assert max(run.waits[-30:]) < 0.003


def test_the_margin_grows_with_the_arrival_jitter_and_no_picture_misses_its_tick() -> None:
    calm = simulate(6.0, P60, phase=0.006, jitter=0.0002)
    jittery = simulate(6.0, P60, phase=0.006, jitter=0.003, seed=7)
    assert jittery.lock.margin > calm.lock.margin + 0.002
    assert jittery.lock.status.locked
    assert [at for at in jittery.late if at > 1.5] == []
    assert min(jittery.waits[-120:]) > 0


@pytest.mark.parametrize(("fps", "shown"), [(59.94, "59.94"), (25.0, "25.00")])
def test_a_reference_at_another_rate_is_not_followed(fps: float, shown: str) -> None:
    run = simulate(6.0, 1 / fps, phase=0.005)
    status = run.lock.status
    assert not status.locked
    assert status.note == f"the reference runs at {shown} fps, the program at 60.00: not locked"
    # The clock keeps its own rate: no shifts once the rate is known.
    assert sum(run.shifts) == 0.0


def test_a_reference_showing_its_slate_is_let_go() -> None:
    run = simulate(3.0, P60, phase=0.009, slate_after=2.5)
    status = run.lock.status
    assert not status.locked and status.note == "the reference has no picture"
    assert run.shifts[-20:] == [0.0] * 20


def test_a_new_reference_starts_over() -> None:
    run = simulate(3.0, P60, phase=0.009)
    lock = run.lock
    assert lock.status.locked
    assert lock.update("other", None, 3.1) == 0.0
    assert lock.status.reference == "other" and not lock.status.locked
    assert lock.status.note == "measuring its rate"
    assert lock.update(None, None, 3.2) == 0.0
    assert lock.status.reference is None and lock.status.note == "no reference"


def close(status: GenlockStatus) -> bool:
    """Locked, with the last picture composed within 2 ms of the margin after it came."""
    wait = status.wait_ms
    return status.locked and wait is not None and wait < status.margin_ms + 2.0


def test_the_real_clock_locks_to_a_real_test_pattern() -> None:
    source = TestPatternSource("cam", fps=60)
    clock = ProgramClock(lambda: SwitcherState(program="cam"), ClockConfig(size=Size(320, 180)))
    clock.add_source(source)
    source.start()
    time.sleep(0.37)  # a phase of its own, not the clock's
    clock.follow("cam")
    clock.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not close(status := clock.stats.genlock):
            time.sleep(0.1)
        assert close(status), status
    finally:
        clock.stop()
        source.stop()
