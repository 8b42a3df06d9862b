"""What may be asked of the engine: frozen commands, from the UI, hotkeys or the control API.

Durations are in frames of the program clock, as on a hardware switcher: a transition
of N frames covers exactly N program ticks whatever the wall clock does.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.switcher import TransitionKind
from tally import Camera

from .state import SourceInfo

MAX_DURATION_FRAMES = 10 * 60 * 60  # ten seconds at 60 fps; longer is a mistake, not a style


@dataclass(frozen=True, slots=True)
class SetSources:
    """The sources the switcher can pick from, in multiview order (button 1 is the first)."""

    sources: tuple[SourceInfo, ...]


@dataclass(frozen=True, slots=True)
class SetPreview:
    source: str


@dataclass(frozen=True, slots=True)
class SetProgram:
    """Straight to air ("hot punch"): a cut to `source`; preview is left as it is."""

    source: str


@dataclass(frozen=True, slots=True)
class Cut:
    """Swap preview and program at the next frame."""


@dataclass(frozen=True, slots=True)
class Auto:
    """Run the chosen transition from program to preview (a cut if the kind is CUT)."""


@dataclass(frozen=True, slots=True)
class FadeToBlack:
    """Fade to black, or back up from it if black (or fading); reverses mid-fade smoothly."""


@dataclass(frozen=True, slots=True)
class SetTransition:
    kind: TransitionKind
    duration: int  # frames


@dataclass(frozen=True, slots=True)
class SetFtbDuration:
    duration: int  # frames


@dataclass(frozen=True, slots=True)
class TBar:
    """The bar's physical position, 0..1; the mix runs away from wherever the bar last rested."""

    position: float


@dataclass(frozen=True, slots=True)
class SetAudioChannels:
    """The audio channels the mixer has (by name), replacing the list; settings are kept.

    A new channel named in `follow` starts following that video source (a camera's own
    sound); any other new channel starts always live.
    """

    channels: tuple[str, ...]
    follow: tuple[tuple[str, str], ...] = ()  # (channel, source)


@dataclass(frozen=True, slots=True)
class SetGain:
    channel: str
    gain_db: float


@dataclass(frozen=True, slots=True)
class SetMute:
    channel: str
    mute: bool


@dataclass(frozen=True, slots=True)
class SetAudioFollowVideo:
    """The channel is live only while `source` is on air (None: always live)."""

    channel: str
    source: str | None


@dataclass(frozen=True, slots=True)
class SetCameras:
    """The phone cameras of the session and the source each shows up as."""

    cameras: tuple[Camera, ...]
    live_only: bool = False


@dataclass(frozen=True, slots=True)
class MapCamera:
    number: int
    source: str | None


Command = (
    SetSources
    | SetPreview
    | SetProgram
    | Cut
    | Auto
    | FadeToBlack
    | SetTransition
    | SetFtbDuration
    | TBar
    | SetAudioChannels
    | SetGain
    | SetMute
    | SetAudioFollowVideo
    | SetCameras
    | MapCamera
)
