"""What every program-audio input is: a name, a status, start/stop, and `read` per tick.

The mixer calls `read` on the program clock's thread once per video tick; it must never
block. Capture threads (PortAudio's callback, an NDI receiver) push into an `AudioRing`
and `read` only takes from it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from media.audio.frames import F32


class AudioState(enum.Enum):
    STARTING = "starting"
    LIVE = "live"
    SILENT = "silent"  # live, but nothing above the noise floor for a while (set by the mixer)
    LOST = "lost"  # the device or source went away; it is retried on its own
    NO_AUDIO = "no_audio"  # the source is there but carries no sound (an NDI camera without)
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class AudioStatus:
    state: AudioState
    error: str | None = None  # why it is lost, in words a director can act on
    sample_rate: int | None = None  # what the input delivers, before conversion to 48 kHz
    channels: int | None = None  # likewise


@runtime_checkable
class AudioSource(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def status(self) -> AudioStatus: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def read(self, sample_pts: int, count: int) -> F32: ...
