"""Which H.264 encoder to use: try hardware encoders by really opening one, else libx264.

A codec being compiled into PyAV says nothing about the machine (the wheels carry NVENC and
QSV everywhere): only opening a context with our settings, with the pixel format the
encoder takes (codecs.input_format), and encoding a frame proves it works. The answer does
not change while the process runs, so it is cached.

`choose_encoder` says which encoder and why, for the director ("auto chose h264_qsv, the
first hardware encoder that opens here"); the reason is a code plus its facts, so a UI can
put it in its own language.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import av

from media.encode.codecs import SOFTWARE, candidates, open_video
from media.encode.config import LayerConfig
from media.encode.errors import EncoderUnavailable
from media.frames import Size, solid

log = logging.getLogger(__name__)

# Small, but above every hardware encoder's minimum size (NVENC: 145x49... depending on GPU).
_TRIAL = LayerConfig("trial", Size(320, 180), 30, 200_000)

Opener = Callable[[str], "str | None"]
"""A trial open: None if the encoder works here, else why not (trial_open, or a test's)."""

# EncoderChoice.reason codes
CHOSEN = "chosen"  # named in the settings or on the command line
AUTO_HARDWARE = "auto_hardware"  # auto: the first hardware encoder that opens
AUTO_SOFTWARE = "auto_software"  # auto: no hardware encoder opens here
FELL_BACK = "fell_back"  # the hardware encoder failed during the show; libx264 took over


@dataclass(frozen=True, slots=True)
class EncoderChoice:
    name: str  # the FFmpeg encoder: "libx264", "h264_nvenc", ...
    reason: str  # CHOSEN, AUTO_HARDWARE, AUTO_SOFTWARE or FELL_BACK
    tried: tuple[str, ...] = ()  # the hardware encoders that did not open (auto)
    failed: str = ""  # FELL_BACK: the encoder that failed

    def describe(self) -> str:
        """One line for a log or a terminal: the encoder and why it is the one."""
        if self.reason == AUTO_HARDWARE:
            return f"{self.name} (auto: the first hardware encoder that opens here)"
        if self.reason == AUTO_SOFTWARE:
            tried = ", ".join(self.tried) or "none for this system"
            return f"{self.name} (auto: no hardware encoder opens here; tried {tried})"
        if self.reason == FELL_BACK:
            return f"{self.name} ({self.failed} failed during the show; {self.name} took over)"
        return f"{self.name} (as set)"


@functools.cache
def trial_open(encoder: str) -> str | None:
    """None if `encoder` opens and encodes a frame here; otherwise why not (one line)."""
    try:
        ctx, fmt = open_video(encoder, _TRIAL)
        picture = solid(_TRIAL.size, (128, 128, 128)).to_av()
        frame = picture if fmt.frame_format == "yuv420p" else picture.reformat(format="nv12")
        frame.pts = 0
        ctx.encode(frame)
        ctx.encode(None)
    except (av.FFmpegError, ValueError, OSError, RuntimeError, NotImplementedError) as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.info("encoder %s is not usable here: %s", encoder, reason)
        return reason
    return None


def available_encoders(opener: Opener = trial_open) -> tuple[str, ...]:
    """The encoders this machine opens, hardware first in auto's order; libx264 always."""
    return (*(name for name in candidates() if opener(name) is None), SOFTWARE)


def choose_encoder(setting: str = "auto", opener: Opener = trial_open) -> EncoderChoice:
    """The encoder for `setting` ("auto" or an FFmpeg encoder name), and why.

    "auto" tries this system's hardware encoders in order and falls back to libx264. A
    named encoder must work: EncoderUnavailable says why it does not.
    """
    if setting != "auto":
        reason = opener(setting)
        if reason is not None:
            raise EncoderUnavailable(f"encoder {setting} cannot be used here: {reason}")
        return EncoderChoice(setting, CHOSEN)
    tried: list[str] = []
    for encoder in candidates():
        if opener(encoder) is None:
            return EncoderChoice(encoder, AUTO_HARDWARE, tuple(tried))
        tried.append(encoder)
    reason = opener(SOFTWARE)
    if reason is not None:
        raise EncoderUnavailable(f"no H.264 encoder works here; libx264: {reason}")
    return EncoderChoice(SOFTWARE, AUTO_SOFTWARE, tuple(tried))


def pick_encoder(setting: str = "auto") -> str:
    """The encoder name to use for `setting` (choose_encoder without the reason)."""
    return choose_encoder(setting).name
