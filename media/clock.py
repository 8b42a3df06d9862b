"""The program clock: ticks at the output rate and composes program and preview.

One thread, a deadline schedule (tick n is composed at t0 + n / fps, so sleep error
never accumulates), one switcher-state snapshot per tick. pts counts ticks in a
1/fps time base and stays on wall time: after a stall the clock skips the ticks
it missed rather than bursting to catch up, and counts them.

Each tick is handed over a set time after it starts composing, not when composing
ends, so consumers see a steady cadence whatever a mix costs to compute (blending and
other threads' GIL use make compose time vary by milliseconds). That time is the
longest compose of the last two seconds plus a guard (`ComposeBudget`): about 1.5 ms
for a cut, more while a many-source mix runs, at most half a frame. A fixed 4 ms held
every cut's picture ~3.5 ms longer than it took to compose.

With a genlock reference (`follow`), each tick's schedule is nudged so the reference's
pictures are composed just after they arrive instead of up to a tick later
(media/genlock.py says how, and when it declines).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from media.audio.frames import AudioFrame, audio_pts, samples_for_tick
from media.audio.mixer import AudioMixer
from media.fanout import DropOldestQueue, Fanout
from media.frames import Frame, Size, scale_to_fit
from media.genlock import GenlockStatus, PhaseLock
from media.mixer import Blender
from media.slot import SlotFrame
from media.sources.base import Source
from media.switcher import SwitcherState

log = logging.getLogger(__name__)

Bus = Literal["program", "preview"]
StateProvider = Callable[[], SwitcherState]


@dataclass(frozen=True, slots=True)
class ClockConfig:
    size: Size = field(default_factory=lambda: Size(640, 360))
    fps: Fraction = Fraction(60)
    # A tick handed over more than this fraction of a period after its deadline is late.
    late_fraction: float = 0.5
    # Seconds from a tick's compose to its hand-off; None: follow the compose time
    # (`ComposeBudget`). Capped at half a frame period.
    compose_ahead: float | None = None
    history: int = 4096  # tick times kept for jitter measurement

    def __post_init__(self) -> None:
        object.__setattr__(self, "fps", Fraction(self.fps))
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.size.width > 1920 or self.size.height > 1080:
            raise ValueError(f"working size {self.size} is above 1920x1080")


AHEAD_START = 0.004  # s: the budget before any compose has been timed
AHEAD_MIN = 0.001
AHEAD_GUARD = 0.0005  # s over the longest recent compose
AHEAD_WINDOW = 120  # composes (2 s at 60 fps) the budget looks back over


class ComposeBudget:
    """How long before its hand-off a tick starts composing: the clock thread's only."""

    def __init__(self, fixed: float | None, period: float) -> None:
        self._fixed = fixed
        self._cap = period / 2
        self._spent: deque[float] = deque(maxlen=AHEAD_WINDOW)

    @property
    def ahead(self) -> float:
        if self._fixed is not None:
            return min(self._fixed, self._cap)
        if not self._spent:
            return min(AHEAD_START, self._cap)
        return min(max(AHEAD_MIN, max(self._spent) + AHEAD_GUARD), self._cap)

    def spent(self, seconds: float) -> None:
        self._spent.append(seconds)


@dataclass(frozen=True, slots=True)
class OutputFrame:
    pts: int  # in time_base (1/fps) units; the tick number since start
    time_base: Fraction
    frame: Frame
    time: float  # time.monotonic() the tick was due
    audio: AudioFrame | None = None  # program bus only: exactly this tick's samples


@dataclass(frozen=True, slots=True)
class ClockStats:
    ticks: int
    late_ticks: int
    skipped_ticks: int
    drops: dict[str, int]  # per consumer queue, program and preview
    genlock: GenlockStatus


class ProgramClock:
    def __init__(
        self,
        state: StateProvider,
        config: ClockConfig | None = None,
        *,
        audio: AudioMixer | None = None,
    ) -> None:
        self.config = config or ClockConfig()
        self._state = state
        self._audio = audio
        self._blender = Blender(self.config.size)
        self._sources: dict[str, Source] = {}
        self._scaled: dict[str, tuple[SlotFrame, Frame]] = {}
        self._program: Fanout[OutputFrame] = Fanout()
        self._preview: Fanout[OutputFrame] = Fanout()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._ticks = self._late = self._skipped = 0
        self._history = np.zeros(self.config.history, np.float64)
        self._lock = PhaseLock(1.0 / float(self.config.fps))
        self.latest_program: OutputFrame | None = None
        self.latest_preview: OutputFrame | None = None

    # -- sources and consumers -------------------------------------------------

    def add_source(self, source: Source) -> None:
        self._sources = {**self._sources, source.name: source}

    def remove_source(self, name: str) -> None:
        self._sources = {k: v for k, v in self._sources.items() if k != name}
        self._scaled.pop(name, None)

    def follow(self, reference: str | None) -> None:
        """Genlock the ticks to source `reference`'s pictures; None lets the clock free-run."""
        self._lock.follow(reference)

    def subscribe(self, bus: Bus, name: str, maxsize: int = 2) -> DropOldestQueue[OutputFrame]:
        return self._fanout(bus).subscribe(name, maxsize)

    def unsubscribe(self, bus: Bus, queue: DropOldestQueue[OutputFrame]) -> None:
        self._fanout(bus).unsubscribe(queue)

    def _fanout(self, bus: Bus) -> Fanout[OutputFrame]:
        return self._program if bus == "program" else self._preview

    # -- rendering (pure given the slots; tests call it with any pts) ---------

    @property
    def time_base(self) -> Fraction:
        return 1 / self.config.fps

    def picture(self, name: str | None) -> Frame | None:
        """A source's latest picture at working size; rescaled only when it changed."""
        source = self._sources.get(name or "")
        latest = source.slot.read() if source is not None else None
        if source is None or latest is None:
            return None
        cached = self._scaled.get(source.name)
        # SlotFrame identity, not seq: a re-added source starts its seq again.
        if cached is not None and cached[0] is latest:
            return cached[1]
        frame = scale_to_fit(latest.frame, self.config.size)
        self._scaled[source.name] = (latest, frame)
        return frame

    def render(self, pts: int, state: SwitcherState) -> tuple[Frame, Frame]:
        """(program, preview) at `pts` for `state`; from one thread at a time only."""
        names = {state.program, state.preview}
        if state.transition is not None:
            names.add(state.transition.target)
        pictures = {n: p for n in names if n and (p := self.picture(n)) is not None}
        program = self._blender.compose(state, pts, pictures)
        preview = pictures.get(state.preview or "")
        if preview is None:
            preview = self._blender.solid((0, 0, 0))
        return program, preview

    def render_audio(self, pts: int, state: SwitcherState) -> AudioFrame | None:
        if self._audio is None:
            return None
        fps = self.config.fps
        start, count = audio_pts(pts, fps), samples_for_tick(pts, fps)
        return self._audio.render(start, count, state.on_air(pts), state.black_level(pts))

    # -- the thread --------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._stopping.is_set():
            raise RuntimeError("a stopped program clock cannot be restarted; make a new one")
        self._thread = threading.Thread(target=self._run, name="program-clock", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout)
        self._program.close()
        self._preview.close()

    def pts_at(self, when: float) -> int:
        """The first tick composed at or after monotonic time `when`.

        The earliest tick a state change made at `when` can affect: use it as a
        transition's start_pts to cut or mix exactly there.
        """
        ticks = (when - self._t0) * float(self.config.fps)
        return max(0, int(np.ceil(ticks - 1e-9)))

    @property
    def stats(self) -> ClockStats:
        drops = {f"program:{k}": v for k, v in self._program.drops().items()}
        drops.update({f"preview:{k}": v for k, v in self._preview.drops().items()})
        return ClockStats(self._ticks, self._late, self._skipped, drops, self._lock.status)

    def tick_times(self) -> np.ndarray:
        """The monotonic times the last ticks were handed to consumers, oldest first."""
        n = min(self._ticks, self._history.shape[0])
        end = self._ticks % self._history.shape[0]
        ring = np.roll(self._history, -end)
        return ring[ring.shape[0] - n :].copy()

    def _run(self) -> None:
        period = 1.0 / float(self.config.fps)
        late_after = self.config.late_fraction * period
        budget = ComposeBudget(self.config.compose_ahead, period)
        self._t0 = time.monotonic()
        pts = 0
        while True:
            compose_at = self._t0 + pts * period
            if self._sleep_until(compose_at):
                break
            behind = time.monotonic() - compose_at
            if behind >= period:
                missed = int(behind / period)
                pts += missed
                compose_at += missed * period
                self._skipped += missed
            deadline = compose_at + budget.ahead
            # Read before composing: the picture the tick can use, never a later arrival.
            reference = self._lock.wanted
            latest, started = self._latest(reference), time.monotonic()
            try:
                composed = self._compose(pts, deadline)
            except Exception:  # one bad frame must not stop the show
                log.exception("program clock tick %d failed", pts)
                pts += 1
                continue
            budget.spent(time.monotonic() - started)
            # The schedule, not when the thread woke: a late wake only gives a picture more
            # time, so the lock's margin need not cover the clock's own jitter.
            shift = self._lock.update(reference, latest, compose_at)
            # Later ticks only: this one's deadline stands, so consumers keep their cadence.
            self._t0 += shift
            if self._sleep_until(deadline):
                break
            if time.monotonic() - deadline > late_after:
                self._late += 1
            self._hand_off(*composed)
            pts += 1

    def _latest(self, name: str | None) -> SlotFrame | None:
        source = self._sources.get(name or "")
        return None if source is None else source.slot.peek()

    def _sleep_until(self, when: float) -> bool:
        """Wait for `when`; True if the clock is being stopped."""
        remaining = when - time.monotonic()
        if remaining > 0:
            return self._stopping.wait(remaining)
        return self._stopping.is_set()

    def _compose(self, pts: int, deadline: float) -> tuple[OutputFrame, OutputFrame]:
        state = self._state()
        program, preview = self.render(pts, state)
        audio = self.render_audio(pts, state)
        tb = self.time_base
        return OutputFrame(pts, tb, program, deadline, audio), OutputFrame(
            pts, tb, preview, deadline
        )

    def _hand_off(self, program: OutputFrame, preview: OutputFrame) -> None:
        self.latest_program, self.latest_preview = program, preview
        self._program.publish(program)
        self._preview.publish(preview)
        self._history[self._ticks % self._history.shape[0]] = time.monotonic()
        self._ticks += 1
