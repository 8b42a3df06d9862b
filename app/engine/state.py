"""The show state: one immutable value, replaced whole by the engine on every change.

Everything a screen, a phone or the program clock shows is derived from it, so there
is nothing to keep in step: the clock reads `switcher`, tally reads `bus_state()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from media.audio.mixer import ChannelSettings
from media.switcher import SwitcherState, Transition, TransitionKind
from tally import BusState, Camera

SOURCE_KINDS = ("test", "file", "camera", "ndi")


@dataclass(frozen=True, slots=True)
class SourceInfo:
    name: str  # the id everywhere: switcher, tally, control API
    label: str = ""  # what the multiview shows; the name if empty
    kind: str = "test"  # one of SOURCE_KINDS

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True, slots=True)
class TransitionSettings:
    kind: TransitionKind = TransitionKind.MIX
    duration: int = 30  # frames


@dataclass(frozen=True, slots=True)
class ManualTransition(Transition):
    """A T-bar mix: its progress is the bar, whatever the tick.

    The clock asks every transition for `progress(pts)`; for a manual one the answer is
    the bar position at the moment the engine swapped the state in, so the first tick
    composed after a bar move shows exactly that position and nothing drifts.
    """

    position: float = 0.0

    def progress(self, pts: int) -> float:
        return self.position

    def end_pts(self) -> int:
        raise ValueError("a manual transition ends when the bar reaches its end, not at a pts")


def _frozen(mapping: Mapping[str, ChannelSettings]) -> Mapping[str, ChannelSettings]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class ShowState:
    sources: tuple[SourceInfo, ...] = ()
    switcher: SwitcherState = field(default_factory=SwitcherState)
    transition: TransitionSettings = field(default_factory=TransitionSettings)
    ftb_duration: int = 30  # frames
    tbar: float = 0.0  # where the bar is
    tbar_rest: float = 0.0  # where it rested after the last completed mix: 0 or 1
    audio: Mapping[str, ChannelSettings] = field(default_factory=lambda: _frozen({}))
    cameras: tuple[Camera, ...] = ()
    live_only: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.audio, MappingProxyType):
            object.__setattr__(self, "audio", _frozen(self.audio))

    @property
    def program(self) -> str | None:
        return self.switcher.program

    @property
    def preview(self) -> str | None:
        return self.switcher.preview

    @property
    def in_transition(self) -> bool:
        return self.switcher.transition is not None

    @property
    def fade_to_black(self) -> bool:
        """True while black or fading to it."""
        ftb = self.switcher.ftb
        return ftb is not None and ftb.to_black

    def source(self, name: str) -> SourceInfo | None:
        return next((s for s in self.sources if s.name == name), None)

    def bus_state(self) -> BusState:
        """Raw tally: during a mix or dip both sources are on air; a cut goes straight over."""
        sw = self.switcher
        program: list[str] = []
        t = sw.transition
        if t is not None and t.kind is TransitionKind.CUT:
            program.append(t.target)
        else:
            if sw.program is not None:
                program.append(sw.program)
            if t is not None and t.target not in program:
                program.append(t.target)
        preview = () if sw.preview is None else (sw.preview,)
        return BusState(tuple(program), preview)
