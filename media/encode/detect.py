"""Which H.264 encoder to use: try hardware encoders by really opening one, else libx264.

A codec being compiled into PyAV says nothing about the machine (the wheels carry NVENC and
QSV everywhere): only opening a context with our settings and encoding a frame proves it
works. The answer does not change while the process runs, so it is cached.
"""

from __future__ import annotations

import functools
import logging

import av
import numpy as np

from media.encode.codecs import HARDWARE, SOFTWARE, open_video
from media.encode.config import LayerConfig
from media.encode.errors import EncoderUnavailable
from media.frames import Size

log = logging.getLogger(__name__)

# Small, but above every hardware encoder's minimum size (NVENC: 145x49... depending on GPU).
_TRIAL = LayerConfig("trial", Size(320, 180), 30, 200_000)


@functools.cache
def trial_open(encoder: str) -> str | None:
    """None if `encoder` opens and encodes a frame here; otherwise why not (one line)."""
    try:
        ctx = open_video(encoder, _TRIAL)
        frame = av.VideoFrame.from_ndarray(
            np.full((_TRIAL.size.height * 3 // 2, _TRIAL.size.width), 128, np.uint8),
            format="yuv420p",
        )
        frame.pts = 0
        ctx.encode(frame)
        ctx.encode(None)
    except (av.FFmpegError, ValueError, OSError, RuntimeError) as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.info("encoder %s is not usable here: %s", encoder, reason)
        return reason
    return None


def pick_encoder(setting: str = "auto") -> str:
    """The encoder name to use for `setting` ("auto" or an FFmpeg encoder name).

    "auto" tries the hardware encoders in order and falls back to libx264. A named encoder
    must work: EncoderUnavailable says why it does not.
    """
    if setting != "auto":
        reason = trial_open(setting)
        if reason is not None:
            raise EncoderUnavailable(f"encoder {setting} cannot be used here: {reason}")
        return setting
    for encoder in HARDWARE:
        if trial_open(encoder) is None:
            return encoder
    reason = trial_open(SOFTWARE)
    if reason is not None:
        raise EncoderUnavailable(f"no H.264 encoder works here; libx264: {reason}")
    return SOFTWARE
