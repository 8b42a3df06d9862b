"""The program audio mixer: per-source gain and mute, audio-follow-video, meters.

Settings are frozen and replaced whole by the one owner (the engine); the mixer
only reads them. Gain changes ramp across one block so a cut never clicks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from media.audio.frames import CHANNELS, AudioFrame
from media.audio.meter import LevelMeter, MeterReading, db_to_gain
from media.audio.source import AudioSource

PROGRAM = "program"


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    gain_db: float = 0.0
    mute: bool = False
    # Audio-follow-video: the source is live only while this video source is on
    # program (and crossfades with it during a mix).
    follow_video: str | None = None


@dataclass(slots=True)
class _Channel:
    source: AudioSource
    settings: ChannelSettings
    meter: LevelMeter
    gain: float  # applied at the end of the last block; the next ramp starts here


class AudioMixer:
    def __init__(self, channels: int = CHANNELS, *, follow_ftb: bool = True) -> None:
        self.channels = channels
        self.follow_ftb = follow_ftb  # fade to black fades program audio too
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()
        self._program_meter = LevelMeter(channels)
        self._master = 1.0

    def add(self, source: AudioSource, settings: ChannelSettings | None = None) -> None:
        settings = settings or ChannelSettings()
        with self._lock:
            channels = dict(self._channels)
            channels[source.name] = _Channel(source, settings, LevelMeter(self.channels), -1.0)
            self._channels = channels

    def remove(self, name: str) -> None:
        with self._lock:
            self._channels = {k: v for k, v in self._channels.items() if k != name}

    def configure(self, name: str, settings: ChannelSettings) -> None:
        with self._lock:
            channel = self._channels[name]
            channels = dict(self._channels)
            channels[name] = _Channel(channel.source, settings, channel.meter, channel.gain)
            self._channels = channels

    def settings(self) -> dict[str, ChannelSettings]:
        return {name: ch.settings for name, ch in self._channels.items()}

    def render(
        self, sample_pts: int, count: int, on_air: Mapping[str, float], black_level: float = 0.0
    ) -> AudioFrame:
        """Mix `count` samples starting at `sample_pts` for a tick whose video is `on_air`."""
        out = np.zeros((count, self.channels), np.float32)
        for channel in self._channels.values():
            block = channel.source.read(sample_pts, count)
            target = _target_gain(channel.settings, on_air)
            start = target if channel.gain < 0 else channel.gain
            if start == target:
                block = block * np.float32(target)
            else:
                ramp = np.linspace(start, target, count, dtype=np.float32)
                block = block * ramp[:, None]
            channel.gain = target
            channel.meter.update(block)
            out += block
        master = 1.0 - black_level if self.follow_ftb else 1.0
        if master != self._master:
            out *= np.linspace(self._master, master, count, dtype=np.float32)[:, None]
        elif master != 1.0:
            out *= np.float32(master)
        self._master = master
        self._program_meter.update(out)
        return AudioFrame(out, sample_pts)

    def meters(self) -> dict[str, MeterReading]:
        """Each source's level after its gain, and the program's, keyed by name / PROGRAM."""
        readings = {name: ch.meter.reading() for name, ch in self._channels.items()}
        readings[PROGRAM] = self._program_meter.reading()
        return readings

    def start(self) -> None:
        for channel in self._channels.values():
            channel.source.start()

    def stop(self) -> None:
        for channel in self._channels.values():
            channel.source.stop()


def _target_gain(settings: ChannelSettings, on_air: Mapping[str, float]) -> float:
    if settings.mute:
        return 0.0
    gain = db_to_gain(settings.gain_db)
    if settings.follow_video is not None:
        gain *= on_air.get(settings.follow_video, 0.0)
    return gain
