"""What the engine tells its subscribers, in the order things happened.

Events are derived by comparing the state before and after a change (`diff`), so an
event can never be forgotten or contradict the state; every event of one change is
delivered before any event of the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from media.audio.mixer import ChannelSettings
from media.switcher import Transition, TransitionKind
from tally import BusState, Camera

from .state import ManualTransition, ShowState, SourceInfo, TransitionSettings


@dataclass(frozen=True, slots=True)
class SourcesChanged:
    sources: tuple[SourceInfo, ...]


@dataclass(frozen=True, slots=True)
class PreviewChanged:
    source: str | None


@dataclass(frozen=True, slots=True)
class ProgramChanged:
    """The program bus settled on `source` (after a cut or a completed transition)."""

    source: str | None


@dataclass(frozen=True, slots=True)
class TransitionStarted:
    kind: TransitionKind
    target: str
    start_pts: int
    duration: int  # frames; 0 for a cut or a T-bar mix
    manual: bool  # a T-bar mix


@dataclass(frozen=True, slots=True)
class TransitionEnded:
    completed: bool  # False: a T-bar pulled back to where it started


@dataclass(frozen=True, slots=True)
class TBarMoved:
    position: float
    rest: float  # 0 or 1: the end the bar starts the next mix from


@dataclass(frozen=True, slots=True)
class TransitionSettingsChanged:
    settings: TransitionSettings
    ftb_duration: int


@dataclass(frozen=True, slots=True)
class FadeToBlackChanged:
    to_black: bool  # True while black or fading to it
    start_pts: int | None  # None once faded back up


@dataclass(frozen=True, slots=True)
class TallyChanged:
    bus: BusState


@dataclass(frozen=True, slots=True)
class AudioChanged:
    channels: Mapping[str, ChannelSettings]


@dataclass(frozen=True, slots=True)
class CamerasChanged:
    cameras: tuple[Camera, ...]
    live_only: bool


Event = (
    SourcesChanged
    | PreviewChanged
    | ProgramChanged
    | TransitionStarted
    | TransitionEnded
    | TBarMoved
    | TransitionSettingsChanged
    | FadeToBlackChanged
    | TallyChanged
    | AudioChanged
    | CamerasChanged
)


def _identity(t: Transition | None) -> tuple[object, ...] | None:
    """A transition apart from the bar position: moving the bar is not a new transition."""
    if t is None:
        return None
    return (t.kind, t.target, t.start_pts, t.duration, isinstance(t, ManualTransition))


def diff(old: ShowState, new: ShowState) -> tuple[Event, ...]:
    """The events that take a subscriber who saw `old` to `new`, in a fixed order."""
    events: list[Event] = []
    if new.sources != old.sources:
        events.append(SourcesChanged(new.sources))
    if (new.transition, new.ftb_duration) != (old.transition, old.ftb_duration):
        events.append(TransitionSettingsChanged(new.transition, new.ftb_duration))
    was, now = old.switcher.transition, new.switcher.transition
    if _identity(was) != _identity(now):
        if was is not None:
            events.append(TransitionEnded(completed=new.program == was.target))
        if now is not None:
            manual = isinstance(now, ManualTransition)
            duration = 0 if manual or now.kind is TransitionKind.CUT else now.duration
            events.append(TransitionStarted(now.kind, now.target, now.start_pts, duration, manual))
    if new.program != old.program:
        events.append(ProgramChanged(new.program))
    if new.preview != old.preview:
        events.append(PreviewChanged(new.preview))
    if (new.tbar, new.tbar_rest) != (old.tbar, old.tbar_rest):
        events.append(TBarMoved(new.tbar, new.tbar_rest))
    old_ftb, new_ftb = old.switcher.ftb, new.switcher.ftb
    if new_ftb != old_ftb and (new_ftb is None or new_ftb.to_black != old.fade_to_black):
        events.append(
            FadeToBlackChanged(new.fade_to_black, None if new_ftb is None else new_ftb.start_pts)
        )
    if new.audio != old.audio:
        events.append(AudioChanged(new.audio))
    if (new.cameras, new.live_only) != (old.cameras, old.live_only):
        events.append(CamerasChanged(new.cameras, new.live_only))
    if new.bus_state() != old.bus_state():
        events.append(TallyChanged(new.bus_state()))
    return tuple(events)
