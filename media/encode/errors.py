"""Named errors of the encoder."""

from __future__ import annotations

from media.errors import MediaError


class EncoderUnavailable(MediaError):
    """The H.264 encoder asked for cannot be opened on this machine (missing device or
    driver, or not built into PyAV); the message says which and why."""
