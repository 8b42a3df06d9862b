"""Named errors of the media core; callers catch these, never bare PyAV/NDI/PortAudio ones."""

from __future__ import annotations


class MediaError(Exception):
    """Base of every error raised on purpose by `media`."""


class SourceUnavailable(MediaError):
    """A source cannot deliver frames now (gone, busy, unreadable); it will be retried."""


class CameraUnavailable(SourceUnavailable):
    """A local camera is missing, busy or refused by the OS."""


class NdiUnavailable(SourceUnavailable):
    """An NDI source is not on the network (or the NDI runtime cannot start)."""


class NoAudioDevice(MediaError):
    """PortAudio found no audio input device (or not the one asked for)."""


class AudioDeviceError(MediaError):
    """PortAudio failed to open or run an audio device that does exist."""
