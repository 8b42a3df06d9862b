"""Audio capture from PortAudio devices (sounddevice), and the device list.

PortAudio calls back on its own thread; the callback only copies into a ring
buffer. The mixer pulls one tick's worth of samples at a time. The device clock
and the program clock drift apart slowly, so the ring is bounded: on overflow
the oldest samples go, on underflow the gap is silence (no resampling yet).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from media.audio.frames import CHANNELS, F32, SAMPLE_RATE
from media.audio.source import AudioState, AudioStatus
from media.errors import AudioDeviceError, NoAudioDevice

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AudioDevice:
    index: int
    name: str
    host_api: str
    max_input_channels: int
    default_samplerate: float


def _sounddevice() -> ModuleType:
    try:
        import sounddevice
    except OSError as exc:  # the module loads libportaudio at import
        raise NoAudioDevice(f"PortAudio library not available: {exc}") from exc
    module: ModuleType = sounddevice
    return module


def list_audio_devices() -> list[AudioDevice]:
    """Every PortAudio device that can record; an empty list when there is none."""
    sd = _sounddevice()
    apis = [api["name"] for api in sd.query_hostapis()]
    devices: list[AudioDevice] = []
    for index, info in enumerate(sd.query_devices()):
        if int(info["max_input_channels"]) > 0:
            devices.append(
                AudioDevice(
                    index=index,
                    name=str(info["name"]),
                    host_api=apis[int(info["hostapi"])] if int(info["hostapi"]) < len(apis) else "",
                    max_input_channels=int(info["max_input_channels"]),
                    default_samplerate=float(info["default_samplerate"]),
                )
            )
    return devices


def find_input_device(device: int | str | None = None) -> AudioDevice:
    """The device asked for (index, or part of its name), or the first input device."""
    devices = list_audio_devices()
    if not devices:
        raise NoAudioDevice("PortAudio found no audio input device on this machine")
    if device is None:
        return devices[0]
    for candidate in devices:
        if candidate.index == device or (
            isinstance(device, str) and device.lower() in candidate.name.lower()
        ):
            return candidate
    names = ", ".join(f"{d.index}: {d.name}" for d in devices)
    raise NoAudioDevice(f"no audio input device matches {device!r} (have {names})")


class CaptureSource:
    """A PortAudio input, read by the mixer one tick at a time."""

    def __init__(
        self,
        name: str,
        device: int | str | None = None,
        *,
        channels: int = CHANNELS,
        max_buffer: float = 0.2,
    ) -> None:
        self.name = name
        self.channels = channels
        self._device = device
        self._ring = np.zeros((int(max_buffer * SAMPLE_RATE), channels), np.float32)
        self._fill = 0
        self._lock = threading.Lock()
        self._stream: Any = None
        self.overflows = 0  # samples dropped because the mixer fell behind the device
        self.underflows = 0  # samples of silence because the device fell behind

    @property
    def status(self) -> AudioStatus:
        state = AudioState.LIVE if self._stream is not None else AudioState.STOPPED
        return AudioStatus(state, sample_rate=SAMPLE_RATE, channels=self.channels)

    @property
    def buffered(self) -> int:
        """Samples captured and not yet mixed."""
        return self._fill

    def start(self) -> None:
        sd = _sounddevice()
        info = find_input_device(self._device)
        in_channels = min(self.channels, info.max_input_channels)
        try:
            self._stream = sd.InputStream(
                device=info.index,
                samplerate=SAMPLE_RATE,
                channels=in_channels,
                dtype="float32",
                callback=self._callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            raise AudioDeviceError(f"cannot open audio device {info.name!r}: {exc}") from exc

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()

    def _callback(self, indata: F32, frames: int, _time: Any, status: Any) -> None:
        if status:
            log.debug("audio %s: %s", self.name, status)
        block = indata if indata.shape[1] == self.channels else _to_channels(indata, self.channels)
        self.push(block)

    def push(self, block: F32) -> None:
        """Append captured samples (the PortAudio callback; tests call it directly)."""
        size = self._ring.shape[0]
        block = block[-size:]
        n = block.shape[0]
        with self._lock:
            excess = self._fill + n - size
            if excess > 0:
                self._ring[: self._fill - excess] = self._ring[excess : self._fill]
                self._fill -= excess
                self.overflows += excess
            self._ring[self._fill : self._fill + n] = block
            self._fill += n

    def read(self, sample_pts: int, count: int) -> F32:
        del sample_pts  # a live input has no position to seek to
        out = np.zeros((count, self.channels), np.float32)
        with self._lock:
            n = min(count, self._fill)
            out[:n] = self._ring[:n]
            self._ring[: self._fill - n] = self._ring[n : self._fill]
            self._fill -= n
        self.underflows += count - n
        return out


def _to_channels(block: F32, channels: int) -> F32:
    if block.shape[1] == 1:
        return np.repeat(block, channels, axis=1)
    return np.ascontiguousarray(block[:, :channels])
