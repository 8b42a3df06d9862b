"""Audio capture from PortAudio devices (sounddevice), supervised, and the device list.

PortAudio calls back on its own thread; the callback converts the block to 48 kHz stereo
(`ToProgram`, a fraction of a millisecond) and pushes it into an `AudioRing`, from which
the mixer reads one tick at a time without ever blocking. A device is opened at 48 kHz
when it can do that, else at its own rate.

A microphone gets unplugged, a sound server restarts, a driver stops calling back. A
watcher thread per source notices (the stream finished, or no block for `STALL_S`), says so
in the status (LOST, with the reason in words) and reopens the device with a capped
backoff until samples flow again. Meanwhile the ring runs dry and the mix hears silence.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from media.audio.convert import ToProgram, pick_channels
from media.audio.frames import CHANNELS, F32, SAMPLE_RATE
from media.audio.ring import AudioRing
from media.audio.source import AudioState, AudioStatus
from media.errors import AudioDeviceError, NoAudioDevice

log = logging.getLogger(__name__)

STALL_S = 0.5  # blocks come every few ms; half a second without one is a dead device
# A PulseAudio monitor of an idle sink sends its first block only after the sink's
# 2 s idle render period, so the first block gets longer than a stall.
FIRST_BLOCK_S = 3.0
RETRY_MIN_S, RETRY_MAX_S = 0.25, 2.0
STOP_WAIT_S = 1.0
WATCH_S = 0.02
RATE_WINDOW_S = 2.0
RATE_TOLERANCE = 0.05

# PortAudio is process-global: Pa_Terminate closes every open stream of the process, so
# re-enumerating devices (`_refresh_devices`) must not happen while one is open, nor while
# another thread opens or lists. Every PortAudio call here holds this lock.
_PA_LOCK = threading.RLock()
_OPEN_STREAMS: set[int] = set()  # id() of each stream this module has open


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
    with _PA_LOCK:
        apis = [api["name"] for api in sd.query_hostapis()]
        infos = list(sd.query_devices())
    return [
        AudioDevice(
            index=index,
            name=str(info["name"]),
            host_api=apis[int(info["hostapi"])] if int(info["hostapi"]) < len(apis) else "",
            max_input_channels=int(info["max_input_channels"]),
            default_samplerate=float(info["default_samplerate"]),
        )
        for index, info in enumerate(infos)
        if int(info["max_input_channels"]) > 0
    ]


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


def _refresh_devices(sd: ModuleType) -> bool:
    """Make PortAudio list devices anew; False when it cannot now.

    PortAudio enumerates devices once, in Pa_Initialize, so a microphone plugged in (or a
    sound server started) later stays invisible until PortAudio starts over. Starting over
    closes every stream of the process, hence only while this module has none open.
    """
    with _PA_LOCK:
        if _OPEN_STREAMS:
            return False
        try:
            if sd._initialized:  # 0 after a failed _initialize, and terminating then fails
                sd._terminate()
            sd._initialize()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"PortAudio cannot start: {exc}") from exc
        return True


@dataclass(slots=True)
class _Stream:
    """One opened PortAudio stream and what its callback saw; a reopen makes a new one."""

    device: AudioDevice
    rate: int
    channels: int
    convert: ToProgram
    opened_at: float
    handle: Any = None
    frames: int = 0
    first_at: float | None = None
    last_at: float = 0.0
    finished: bool = False
    fault: str | None = None
    window: tuple[float, int] | None = None  # (since, frames then) for the rate check
    rate_note: str | None = None


class CaptureSource:
    """A PortAudio input, read by the mixer one tick at a time; reopens itself when lost."""

    def __init__(
        self,
        name: str,
        device: int | str | None = None,
        *,
        channels: int = CHANNELS,
        max_buffer: float = 0.2,
    ) -> None:
        self.name = name
        self.channels = channels  # at most this many are opened; the program is stereo
        self._device = device
        self._ring = AudioRing(max_s=max_buffer, prime_s=min(0.02, max_buffer / 2))
        self._lock = threading.Lock()  # _stream and _error change together
        self._stream: _Stream | None = None
        self._error: str | None = None
        self._lost = False  # _error is why a stream was lost, not why an open failed
        self._started = False
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def status(self) -> AudioStatus:
        with self._lock:
            stream, error = self._stream, self._error
        if not self._started:
            return AudioStatus(AudioState.STOPPED)
        if stream is not None and stream.first_at is not None:
            return AudioStatus(AudioState.LIVE, stream.rate_note, stream.rate, stream.channels)
        state = AudioState.STARTING if error is None else AudioState.LOST
        if stream is None:
            return AudioStatus(state, error)
        return AudioStatus(state, error, stream.rate, stream.channels)

    @property
    def buffered(self) -> int:
        """Samples captured and not yet mixed."""
        return self._ring.buffered

    @property
    def overflows(self) -> int:
        return self._ring.overflows

    @property
    def underflows(self) -> int:
        return self._ring.underflows

    def start(self) -> None:
        """Open the device, or go LOST and keep trying: the show starts without a mic."""
        if self._started:
            return
        self._started = True
        self._error, self._lost = None, False
        # The watcher opens the device too: a PortAudio open can hang for a minute on a
        # frozen sound server (libpulse's timeout), and start() must not.
        self._stopping = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch, args=(self._stopping,), name=f"source:audio:{self.name}"
        )
        self._watcher.daemon = True
        self._watcher.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            # A watcher stuck in such an open closes what it opened when it returns.
            self._watcher.join(STOP_WAIT_S)
            if self._watcher.is_alive():
                log.warning("audio %s: PortAudio is stuck opening; not waiting", self.name)
            self._watcher = None
        with self._lock:
            stream, self._stream, self._error = self._stream, None, None
        if stream is not None:
            _close(stream)
        self._ring.clear()
        self._started = False

    def push(self, block: F32) -> None:
        """Samples at 48 kHz, any channel count (the callback after conversion; tests too)."""
        self._ring.push(pick_channels(block))

    def read(self, sample_pts: int, count: int) -> F32:
        del sample_pts  # a live input has no position to seek to
        return self._ring.read(count)

    def _watch(self, stopping: threading.Event) -> None:
        delay, refresh = RETRY_MIN_S, False
        while not stopping.is_set():
            stream = self._stream
            if stream is None:
                if self._try_open(stopping, refresh=refresh):
                    delay = RETRY_MIN_S
                    continue
                refresh = True  # the device may have appeared since PortAudio listed
                stopping.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            problem = _check(stream, time.monotonic())
            if problem is not None:
                self._lose(stream, problem)
                continue
            if stream.first_at is not None and self._error is not None:
                with self._lock:
                    self._error, self._lost = None, False
            stopping.wait(WATCH_S)

    def _try_open(self, stopping: threading.Event, *, refresh: bool) -> bool:
        try:
            stream = self._open(refresh=refresh)
        except (NoAudioDevice, AudioDeviceError) as exc:
            # After a loss its reason stays what the director reads ("is gone"); PortAudio's
            # words for the failed reopens ("Illegal combination of I/O devices") go to the log.
            with self._lock:
                news = not self._lost and self._error != str(exc) and not stopping.is_set()
                if news:
                    self._error = str(exc)
            log.log(logging.WARNING if news else logging.DEBUG, "audio %s: %s", self.name, exc)
            return False
        with self._lock:
            if not stopping.is_set():  # stop() sets it before it takes the stream
                self._stream = stream
                return True
        _close(stream)
        return False

    def _open(self, *, refresh: bool) -> _Stream:
        sd = _sounddevice()
        with _PA_LOCK:
            if refresh:
                _refresh_devices(sd)
            info = find_input_device(self._device)
            channels = min(self.channels, info.max_input_channels)
            rates = [SAMPLE_RATE, round(info.default_samplerate)]
            failure: Exception | None = None
            for rate in dict.fromkeys(rates):  # 48 kHz first, then the device's own
                stream = _Stream(info, rate, channels, ToProgram(rate), time.monotonic())
                try:
                    sd.check_input_settings(
                        device=info.index, samplerate=rate, channels=channels, dtype="float32"
                    )
                    stream.handle = sd.InputStream(
                        device=info.index,
                        samplerate=rate,
                        channels=channels,
                        dtype="float32",
                        callback=functools.partial(self._callback, stream),
                        finished_callback=functools.partial(_finished, stream),
                    )
                    _OPEN_STREAMS.add(id(stream.handle))
                    stream.handle.start()
                except sd.PortAudioError as exc:
                    failure = exc
                    if stream.handle is not None:
                        _close(stream)
                    continue
                stream.opened_at = time.monotonic()
                log.info("audio %s: %r open at %d Hz, %d ch", self.name, info.name, rate, channels)
                return stream
        raise AudioDeviceError(f"audio device {info.name!r} cannot be opened: {failure}")

    def _lose(self, stream: _Stream, problem: str) -> None:
        log.warning("audio %s: %s", self.name, problem)
        with self._lock:
            self._stream, self._error, self._lost = None, problem, True
        _close(stream)

    def _callback(self, stream: _Stream, indata: F32, frames: int, _time: Any, _flags: Any) -> None:
        # An input overflow (a late callback) loses samples but the device is fine:
        # the ring's underflow count shows the gap, so the flags are not acted on.
        now = time.monotonic()
        if stream.first_at is None:
            stream.first_at = now
        stream.last_at = now
        stream.frames += frames
        try:
            self._ring.push(stream.convert(indata))
        except Exception as exc:  # a failing callback would otherwise be silent
            stream.fault = str(exc)
            raise _sounddevice().CallbackAbort from exc


def _finished(stream: _Stream) -> None:
    stream.finished = True


def _close(stream: _Stream) -> None:
    with _PA_LOCK:
        try:
            stream.handle.abort()  # not stop(): a dead device has nothing left to drain
            stream.handle.close()
        except Exception as exc:  # a vanished device may fail to close; it is gone anyway
            log.debug("closing %r: %s", stream.device.name, exc)
        _OPEN_STREAMS.discard(id(stream.handle))


def _check(stream: _Stream, now: float) -> str | None:
    """Why `stream` is lost, or None; notes a wrong delivery rate on the stream."""
    name = stream.device.name
    if stream.fault is not None:
        return f"audio device {name!r} failed: {stream.fault}"
    if stream.finished:
        return f"audio device {name!r} is gone"
    if stream.first_at is None:
        if now - stream.opened_at > FIRST_BLOCK_S:
            return f"audio device {name!r} opened but delivers nothing"
        return None
    if now - stream.last_at > STALL_S:
        return f"audio device {name!r} stopped delivering"
    if stream.window is None:
        stream.window = (now, stream.frames)
    elif now - stream.window[0] >= RATE_WINDOW_S:
        since, frames = stream.window
        measured = (stream.frames - frames) / (now - since)
        stream.rate_note = (
            f"audio device {name!r} delivers {measured:.0f} samples/s, not {stream.rate}"
            if abs(measured / stream.rate - 1) > RATE_TOLERANCE
            else None
        )
        stream.window = (now, stream.frames)
    return None
