"""The switching state the program clock reads once per tick: frozen, owned elsewhere.

The engine (in app/) owns the show and hands the clock a new `SwitcherState`
whenever something changes. Every time-dependent part is a pure function of the
tick's pts, so a transition renders the same frames whenever it is rendered.

Convention for a transition of `duration` N frames starting at `start_pts` S:
the frames S .. S+N-1 are the transition and frame S+N-1 is fully the target,
so frame S + k shows the target at (k + 1) / N. A cut (or N <= 1) is the target
from frame S on: "the first program frame after a cut is the new source".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

RGB = tuple[int, int, int]


class TransitionKind(enum.Enum):
    CUT = "cut"
    MIX = "mix"  # dissolve
    DIP = "dip"  # to `color` over the first half, to the target over the second


def _progress(pts: int, start_pts: int, duration: int) -> float:
    if pts < start_pts:
        return 0.0
    if duration <= 1:
        return 1.0
    return min(1.0, (pts - start_pts + 1) / duration)


@dataclass(frozen=True, slots=True)
class Transition:
    kind: TransitionKind
    target: str  # the source that becomes program
    start_pts: int
    duration: int = 0  # frames (ticks); ignored for a cut
    color: RGB = (0, 0, 0)  # for DIP

    def progress(self, pts: int) -> float:
        duration = 0 if self.kind is TransitionKind.CUT else self.duration
        return _progress(pts, self.start_pts, duration)

    def end_pts(self) -> int:
        """The first tick at which the transition is complete."""
        if self.kind is TransitionKind.CUT:
            return self.start_pts
        return self.start_pts + max(1, self.duration) - 1


@dataclass(frozen=True, slots=True)
class Fade:
    """Fade to black (`to_black`) or back up from it; black is held while it is set."""

    to_black: bool
    start_pts: int
    duration: int = 0

    def black_level(self, pts: int) -> float:
        p = _progress(pts, self.start_pts, self.duration)
        return p if self.to_black else 1.0 - p


@dataclass(frozen=True, slots=True)
class SwitcherState:
    program: str | None = None
    preview: str | None = None
    transition: Transition | None = None
    ftb: Fade | None = None

    def on_air(self, pts: int) -> dict[str, float]:
        """How much of each source is in the program picture at `pts` (0..1), FTB aside."""
        weights: dict[str, float] = {}
        if self.program is not None:
            weights[self.program] = 1.0
        t = self.transition
        if t is None:
            return weights
        p = t.progress(pts)
        if t.kind is TransitionKind.DIP:
            out, into = 1.0 - min(1.0, 2 * p), max(0.0, 2 * p - 1.0)
        else:
            out, into = 1.0 - p, p
        weights = {} if self.program is None else {self.program: out}
        weights[t.target] = weights.get(t.target, 0.0) + into
        return weights

    def black_level(self, pts: int) -> float:
        return 0.0 if self.ftb is None else self.ftb.black_level(pts)
