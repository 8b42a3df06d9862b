"""The program audio mixer: per-channel gain, mute and audio-follow-video, a limiter, meters.

Settings are frozen and replaced whole by the one owner (the engine); the mixer only
reads them. Gain changes ramp across one block so a cut never clicks. The sum goes
through the program limiter (media/audio/limiter.py), and the program meter reads what
leaves it, which is what viewers hear.

Each channel's status is its source's, except that a live source whose input has stayed
below the noise floor for SILENCE_S reads SILENT: a dead mic cable and a muted desk look
alike at the far end, and the director should hear about it before the viewers do.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from media.audio.frames import CHANNELS, SAMPLE_RATE, AudioFrame
from media.audio.limiter import Limiter
from media.audio.meter import LevelMeter, MeterReading, db_to_gain
from media.audio.source import AudioSource, AudioState, AudioStatus

PROGRAM = "program"
SILENCE_S = 10.0
NOISE_FLOOR = db_to_gain(-60.0)


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
    quiet: int = 0  # samples in a row below the noise floor, before gain


class AudioMixer:
    def __init__(self, channels: int = CHANNELS, *, follow_ftb: bool = True) -> None:
        self.channels = channels
        self.follow_ftb = follow_ftb  # fade to black fades program audio too
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()
        self._program_meter = LevelMeter(channels)
        self._master = 1.0
        self.limiter = Limiter()

    def add(self, source: AudioSource, settings: ChannelSettings | None = None) -> None:
        settings = settings or ChannelSettings()
        with self._lock:
            channels = dict(self._channels)
            channels[source.name] = _Channel(source, settings, LevelMeter(self.channels), -1.0)
            self._channels = channels

    def remove(self, name: str) -> AudioSource | None:
        """Take a channel out; its source, for the caller to stop (None if there was none)."""
        with self._lock:
            gone = self._channels.get(name)
            self._channels = {k: v for k, v in self._channels.items() if k != name}
        return gone.source if gone is not None else None

    def configure(self, name: str, settings: ChannelSettings) -> None:
        with self._lock:
            channel = self._channels[name]
            channels = dict(self._channels)
            channels[name] = replace(channel, settings=settings)
            self._channels = channels

    def settings(self) -> dict[str, ChannelSettings]:
        return {name: ch.settings for name, ch in self._channels.items()}

    def source(self, name: str) -> AudioSource | None:
        channel = self._channels.get(name)
        return channel.source if channel is not None else None

    def render(
        self, sample_pts: int, count: int, on_air: Mapping[str, float], black_level: float = 0.0
    ) -> AudioFrame:
        """Mix `count` samples starting at `sample_pts` for a tick whose video is `on_air`."""
        out = np.zeros((count, self.channels), np.float32)
        for channel in self._channels.values():
            block = channel.source.read(sample_pts, count)
            if block.shape[1] != self.channels:
                block = _match(block, self.channels)
            loud = bool(np.abs(block).max(initial=0.0) >= NOISE_FLOOR)
            channel.quiet = 0 if loud else channel.quiet + count
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
        out = self.limiter.process(out)
        self._program_meter.update(out)
        return AudioFrame(out, sample_pts)

    def meters(self) -> dict[str, MeterReading]:
        """Each channel's level after its gain, and the program's, keyed by name / PROGRAM."""
        readings = {name: ch.meter.reading() for name, ch in self._channels.items()}
        readings[PROGRAM] = self._program_meter.reading()
        return readings

    def statuses(self) -> dict[str, AudioStatus]:
        """Each channel's state: its source's, or SILENT after SILENCE_S below -60 dBFS."""
        out = {}
        for name, channel in self._channels.items():
            status = channel.source.status
            if status.state is AudioState.LIVE and channel.quiet >= SILENCE_S * SAMPLE_RATE:
                quiet_s = channel.quiet / SAMPLE_RATE
                status = replace(
                    status,
                    state=AudioState.SILENT,
                    error=f"nothing above -60 dBFS for {quiet_s:.0f} s",
                )
            out[name] = status
        return out

    def start(self) -> None:
        for channel in self._channels.values():
            channel.source.start()

    def stop(self) -> None:
        for channel in self._channels.values():
            channel.source.stop()


def _match(block: np.ndarray, channels: int) -> np.ndarray:
    if block.shape[1] == 1:
        return np.repeat(block, channels, axis=1)
    return np.ascontiguousarray(block[:, :channels])


def _target_gain(settings: ChannelSettings, on_air: Mapping[str, float]) -> float:
    if settings.mute:
        return 0.0
    gain = db_to_gain(settings.gain_db)
    if settings.follow_video is not None:
        gain *= on_air.get(settings.follow_video, 0.0)
    return gain
