"""Genlock: the program clock's ticks phase-locked to a reference source's pictures.

A source's pictures arrive on its own clock. Free-running, the program clock picks each one
up at its next tick, so a picture waits anywhere from nothing to a whole tick (16.7 ms at
60 fps, 8.3 on average) before it is composed and encoded: pure latency, and a different
amount in every show. Hardware switchers remove it by genlocking the cameras to the
switcher; a software switcher cannot steer a camera, so it steers itself: each time a new
reference picture is composed, the lock nudges the clock's schedule so the next one is
composed a small margin after it arrives.

What it will not do:
- follow a reference whose rate is not the program's (or a whole fraction of it: 30 fps
  on a 60 fps program locks, 25 or 59.94 does not). Following it would run the program
  at the camera's rate while audio inputs run at 48 kHz on their own clocks, and their
  rings would slowly overflow. Such a reference is free-run, as before, and said so.
- move faster than `MAX_STEP` per picture: a lock being acquired (at start, or when the
  reference changes) shortens or stretches ticks by a quarter of a millisecond at most.
- move ticks earlier by more than `EARLY_LIMIT`: audio inputs (microphones) are read once
  a tick from rings their devices fill in real time, and reading several milliseconds
  sooner than before finds them empty, a dropout. A lock that needs the ticks earlier
  moves them later instead, by a frame less, skipping one picture of the reference once.

The margin follows the reference's arrival jitter (`MIN_MARGIN` + `JITTER_MARGINS` times
its running mean deviation): a picture arriving after its tick is composed would be
shown a tick late and the one after it skipped, a judder worse than the wait it saves.

Pure: the clock passes each tick's scheduled compose time and the reference's latest slot
frame, and applies the shift it gets back to its schedule.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from media.slot import SlotFrame

MAX_STEP = 0.00025  # s a tick may move per reference picture
GAIN = 0.25  # share of the phase error corrected per picture: smooths arrival jitter
MIN_MARGIN = 0.001  # s between a picture's arrival and its tick, at the least
JITTER_MARGINS = 3.0
JITTER_ALPHA = 0.05  # running mean of the arrival deviation, over ~20 pictures
RATE_WINDOW_S = 5.0  # reference pictures kept to measure its rate
RATE_MIN_SPAN_S = 1.0  # measured over at least this long before any move
RATE_TOLERANCE = 0.0005  # 500 ppm: crystal error, not 59.94 against 60
GAP_S = 0.5  # a picture this long after the previous one: the reference restarted
EARLY_LIMIT = 0.001  # s: the most the lock moves ticks earlier to take out a wait
EARLY_PERSIST = 30  # pictures a longer wait must last before the lock moves later for it


@dataclass(frozen=True, slots=True)
class GenlockStatus:
    reference: str | None
    locked: bool
    wait_ms: float | None  # how long the reference's last new picture waited for its tick
    margin_ms: float  # the wait the lock aims at
    note: str  # in words: why it is not locked, or empty


class PhaseLock:
    """One reference at a time; `update` once per composed tick, from the clock's thread."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.reference: str | None = None  # the one being locked to, on the clock's thread
        self.wanted: str | None = None
        self._seen: deque[tuple[float, int]] = deque()  # (captured, seq) of new pictures
        self._last_seq: int | None = None
        self._expected: float | None = None  # the next wait if nothing but our shifts moved
        self._jitter = 0.0
        self._wait: float | None = None
        self._locked = self._slipping = False
        self._early = 0  # new pictures in a row that waited beyond EARLY_LIMIT
        self._note = "no reference"

    def follow(self, reference: str | None) -> None:
        """Lock to `reference` (a source name) from the next tick; None free-runs the clock.

        Any thread: the clock's thread takes it up at its next `update`."""
        self.wanted = reference

    def _restart(self, note: str) -> None:
        self._seen.clear()
        self._last_seq = self._expected = self._wait = None
        self._jitter = 0.0
        self._locked = self._slipping = False
        self._early = 0
        self._note = note

    @property
    def margin(self) -> float:
        return min(MIN_MARGIN + JITTER_MARGINS * self._jitter, self.period / 2)

    @property
    def status(self) -> GenlockStatus:
        wait = None if self._wait is None else round(self._wait * 1000, 2)
        return GenlockStatus(
            self.reference, self._locked, wait, round(self.margin * 1000, 2), self._note
        )

    def update(self, reference: str | None, latest: SlotFrame | None, due: float) -> float:
        """The shift (s, negative is earlier) to apply to the clock's schedule from now on.

        `latest` is the slot frame of `reference` (what `wanted` was when the tick read it);
        `due` the monotonic time the tick was due to compose (a picture read by a
        clock that woke late may have come after it)."""
        if reference != self.reference:
            self.reference = reference
            self._restart("no reference" if self.reference is None else "measuring its rate")
        if latest is None or latest.slate:
            if self._last_seq is not None:
                self._restart("the reference has no picture")
            return 0.0
        if latest.seq == self._last_seq:
            return 0.0  # no new picture this tick: nothing learned
        if self._seen and (
            latest.captured - self._seen[-1][0] > GAP_S or latest.seq < self._seen[-1][1]
        ):  # the reference restarted, or was replaced by a new source of the same name
            self._restart("measuring its rate")
        self._last_seq = latest.seq
        wait = due - latest.captured
        self._wait = wait
        self._remember(latest)
        if not self._rate_fits():
            self._expected = None
            return 0.0
        if self._expected is not None:
            deviation = abs(wait - self._expected)
            self._jitter += JITTER_ALPHA * (min(deviation, self.period / 2) - self._jitter)
        off = _wrapped(wait - self.margin, self.period)
        shift = -max(-MAX_STEP, min(MAX_STEP, GAIN * self._error(off)))
        self._locked = abs(off) <= max(MIN_MARGIN, JITTER_MARGINS * self._jitter)
        self._note = ""
        # The next picture, if it keeps its cadence, waits this much less (or more).
        self._expected = wait + shift
        return shift

    def _error(self, off: float) -> float:
        """How much later (negative) or earlier the ticks should come; never much earlier.

        Ticks moved earlier read the microphones' rings before their samples are in: a
        move of a few ms earlier empties them (a dropout), one later only deepens them. So
        a steady wait beyond `EARLY_LIMIT` is taken out by moving a whole frame less than
        it later (one picture of the reference is skipped, once), and single long waits,
        which are the clock waking late, move nothing. `off`: the wait beyond the margin."""
        if off <= EARLY_LIMIT:
            self._early, self._slipping = 0, False
            return off
        self._early += 1
        if self._slipping or self._early >= EARLY_PERSIST:
            self._slipping = True
            return off - self.period
        return 0.0

    def _remember(self, latest: SlotFrame) -> None:
        self._seen.append((latest.captured, latest.seq))
        while latest.captured - self._seen[0][0] > RATE_WINDOW_S:
            self._seen.popleft()

    def _rate_fits(self) -> bool:
        (first, first_seq), (last, last_seq) = self._seen[0], self._seen[-1]
        span = last - first
        if span < RATE_MIN_SPAN_S or last_seq == first_seq:
            self._locked = False
            self._note = "measuring its rate"
            return False
        interval = span / (last_seq - first_seq)
        ratio = interval / self.period
        whole = round(ratio)
        if whole >= 1 and abs(ratio - whole) <= RATE_TOLERANCE * ratio:
            return True
        self._locked = False
        self._note = (
            f"the reference runs at {1 / interval:.2f} fps, the program at "
            f"{1 / self.period:.2f}: not locked"
        )
        return False


def _wrapped(error: float, period: float) -> float:
    """`error` moved into [-period/2, period/2): the nearer of the two ways to lock."""
    return (error + period / 2) % period - period / 2
