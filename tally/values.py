"""The values messages carry: raw tally (which source is on which bus) and the camera mapping.

Raw tally and the lamps derived from it are kept apart on purpose: the director sends only
buses and cameras, the relay derives lamps (see `lamps.py`), phones only display them.
"""

import enum
from dataclasses import dataclass
from typing import Annotated

from .validate import Length, Printable, Range, Unique, Validated

MAX_CAMERAS = 99
MAX_SOURCES_PER_BUS = 64
# The phone page reads numbers as JS doubles; past 2**53 - 1 a seq would silently round.
MAX_SAFE_INT = 2**53 - 1


class Lamp(enum.StrEnum):
    PROGRAM = "program"
    PREVIEW = "preview"
    OFF = "off"


class Role(enum.StrEnum):
    DIRECTOR = "director"
    CAMERA = "camera"
    VIEWER = "viewer"


CameraNumber = Annotated[int, Range(1, MAX_CAMERAS)]
Seq = Annotated[int, Range(0, MAX_SAFE_INT)]
SourceId = Annotated[str, Length(1, 128)]
# During a mix both sources are on program, so a bus holds several ids; order is the sender's.
Sources = Annotated[tuple[SourceId, ...], Length(0, MAX_SOURCES_PER_BUS), Unique()]


@dataclass(frozen=True, slots=True)
class Camera(Validated):
    """A camera operator's camera, and the switcher source it shows up as (None: unmapped)."""

    number: CameraNumber
    name: Annotated[str, Length(1, 64), Printable()]
    source: SourceId | None


# No length limit needed: numbers are unique and 1..MAX_CAMERAS.
Cameras = Annotated[tuple[Camera, ...], Unique("number")]


@dataclass(frozen=True, slots=True)
class BusState(Validated):
    """Raw tally: the source ids on each bus."""

    program: Sources
    preview: Sources


@dataclass(frozen=True, slots=True)
class TallyState(Validated):
    """Everything lamps are derived from; `live_only` shows preview as off."""

    bus: BusState
    cameras: Cameras
    live_only: bool


@dataclass(frozen=True, slots=True)
class CameraLamp(Validated):
    camera: CameraNumber
    lamp: Lamp


Lamps = Annotated[tuple[CameraLamp, ...], Unique("camera")]  # at most one per camera number
