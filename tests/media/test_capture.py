"""CaptureSource against real PulseAudio null sinks through PortAudio, and a few stand-ins.

The real tests play a tone into a null sink of a private pulseaudio server (`pacat`) and
capture the sink's monitor through PortAudio's "pulse" ALSA device; PULSE_SERVER and
PULSE_SOURCE, read by the ALSA pulse plugin at each stream open, pick the server and source.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from media.audio import capture
from media.audio.capture import CaptureSource, find_input_device, list_audio_devices
from media.audio.frames import F32, SAMPLE_RATE
from media.audio.source import AudioState, AudioStatus
from media.errors import NoAudioDevice
from tests.support.pulse import PulseServer, write_tone

TONE_HZ = 1000.0
AMPLITUDE = 0.5  # -6 dBFS peak, so the RMS of the sine is 0.354
SINK = "rf_capture"


def _has_pulse_device() -> bool:
    try:
        return any(d.name == "pulse" for d in list_audio_devices())
    except NoAudioDevice:
        return False


needs_pulse = pytest.mark.skipif(
    shutil.which("pacat") is None or not _has_pulse_device(),
    reason="needs pulseaudio + pacat (apt-get install pulseaudio pulseaudio-utils) and "
    "PortAudio's ALSA pulse device (libasound2-plugins)",
)


def _wait_for(
    source: CaptureSource, done: Callable[[AudioStatus], bool], timeout: float = 10.0
) -> tuple[AudioStatus, float]:
    """Poll the status until `done`; the status then and the seconds it took."""
    start = time.monotonic()
    while True:
        status = source.status
        if done(status):
            return status, time.monotonic() - start
        assert time.monotonic() - start < timeout, f"still {status} after {timeout} s"
        time.sleep(0.02)


def _capture(source: CaptureSource, count: int, timeout: float = 10.0) -> F32:
    """`count` fresh samples: what was buffered before is dropped first."""
    source.read(0, source.buffered)
    deadline = time.monotonic() + timeout
    while source.buffered < count:
        assert time.monotonic() < deadline, f"only {source.buffered} of {count} samples came"
        time.sleep(0.02)
    return source.read(0, count)


def _tone_arrives(source: CaptureSource, timeout: float = 10.0) -> None:
    """Wait until 0.1 s read from `source` holds sound: pacat may start after the capture."""
    deadline = time.monotonic() + timeout
    while _rms_db(_capture(source, SAMPLE_RATE // 10, timeout)) < -30:
        assert time.monotonic() < deadline, "the tone did not arrive"


def _peak_hz(block: F32) -> float:
    mono = block[:, 0] * np.hanning(block.shape[0])
    spectrum = np.abs(np.fft.rfft(mono))
    return float(np.argmax(spectrum) * SAMPLE_RATE / block.shape[0])


def _rms_db(block: F32) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(block**2)) + 1e-9))


@pytest.fixture
def pulse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[int], tuple[PulseServer, Callable[[], None]]]]:
    """A private server with one null sink at `rate` playing the tone; returns it and a
    function that (re)starts the tone after the server was restarted."""
    servers: list[PulseServer] = []
    players: list[subprocess.Popen[bytes]] = []

    def start(rate: int) -> tuple[PulseServer, Callable[[], None]]:
        server = PulseServer(sinks=[f"sink_name={SINK} rate={rate}"])
        servers.append(server)
        assert server.start(), "pulseaudio did not start"
        monkeypatch.setenv("PULSE_SERVER", server.address)
        monkeypatch.setenv("PULSE_SOURCE", f"{SINK}.monitor")
        tone = write_tone(tmp_path / f"tone{rate}.f32", TONE_HZ, rate, 60, AMPLITUDE)

        def play() -> None:
            players.append(server.play(SINK, tone, rate))

        play()
        return server, play

    yield start
    for player in players:
        player.kill()
        player.wait()
    for server in servers:
        server.close()


@pytest.fixture
def started() -> Iterator[Callable[[CaptureSource], CaptureSource]]:
    sources: list[CaptureSource] = []

    def start(source: CaptureSource) -> CaptureSource:
        sources.append(source)
        source.start()
        return source

    yield start
    for source in sources:
        source.stop()


@needs_pulse
def test_captures_a_tone_at_its_level_and_pitch(
    pulse: Callable[[int], Any], started: Callable[[CaptureSource], CaptureSource]
) -> None:
    pulse(48_000)
    source = started(CaptureSource("mic", "pulse", max_buffer=1.0))
    status, _ = _wait_for(source, lambda s: s.state is AudioState.LIVE)
    assert (status.sample_rate, status.channels) == (48_000, 2)
    _tone_arrives(source)
    block = _capture(source, SAMPLE_RATE // 2)
    assert _peak_hz(block) == pytest.approx(TONE_HZ, abs=4)
    assert _rms_db(block) == pytest.approx(20 * np.log10(AMPLITUDE / np.sqrt(2)), abs=1.0)
    assert np.allclose(block[:, 0], block[:, 1])


@needs_pulse
def test_a_44k1_device_is_converted_to_48k(
    pulse: Callable[[int], Any],
    started: Callable[[CaptureSource], CaptureSource],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PortAudio's "pulse" device takes any rate (PulseAudio resamples), so a device that
    # cannot do 48 kHz is made by refusing 48 kHz in PortAudio's check. The sink and the
    # stream then run at 44.1 kHz; only ToProgram brings it to 48 kHz.
    sd = capture._sounddevice()
    real_check = sd.check_input_settings

    def only_44k1(**kwargs: Any) -> None:
        if kwargs["samplerate"] != 44_100:
            raise sd.PortAudioError("Invalid sample rate [PaErrorCode -9997]")
        real_check(**kwargs)

    monkeypatch.setattr(sd, "check_input_settings", only_44k1)
    pulse(44_100)
    source = started(CaptureSource("mic", "pulse", max_buffer=1.0))
    status, _ = _wait_for(source, lambda s: s.state is AudioState.LIVE)
    assert status.sample_rate == 44_100
    _tone_arrives(source)
    block = _capture(source, SAMPLE_RATE // 2)
    # Unconverted 44.1 kHz samples read as 48 kHz would put the tone at 1088 Hz.
    assert _peak_hz(block) == pytest.approx(TONE_HZ, abs=4)
    assert _rms_db(block) == pytest.approx(20 * np.log10(AMPLITUDE / np.sqrt(2)), abs=1.0)


@needs_pulse
def test_a_device_that_vanishes_is_lost_and_comes_back_by_itself(
    pulse: Callable[[int], Any], started: Callable[[CaptureSource], CaptureSource]
) -> None:
    server, play = pulse(48_000)
    source = started(CaptureSource("mic", "pulse", max_buffer=1.0))
    _wait_for(source, lambda s: s.state is AudioState.LIVE)

    killed = time.monotonic()
    server.kill()
    lost, _ = _wait_for(source, lambda s: s.state is AudioState.LOST)
    to_lost = time.monotonic() - killed
    assert lost.error in ("audio device 'pulse' is gone", "audio device 'pulse' stopped delivering")
    # How soon is a figure for the notes, not a test: the kill itself takes seconds on a
    # loaded machine (the CI's full run took over 2 s once, and failed here on it).
    source.read(0, source.buffered)
    assert not source.read(0, 800).any()  # the mix goes on, in silence

    restarted = time.monotonic()
    assert server.start()
    play()
    status, _ = _wait_for(source, lambda s: s.state is AudioState.LIVE)
    to_live = time.monotonic() - restarted
    assert status.error is None
    _tone_arrives(source)
    assert _peak_hz(_capture(source, SAMPLE_RATE // 2)) == pytest.approx(TONE_HZ, abs=4)
    print(f"lost {to_lost:.3f} s after the kill, {lost.error!r}; live {to_live:.3f} s after")


def test_a_device_that_is_not_there_does_not_stop_the_show(
    started: Callable[[CaptureSource], CaptureSource],
) -> None:
    try:
        capture._sounddevice()
    except NoAudioDevice as exc:
        pytest.skip(f"{exc}")
    begin = time.monotonic()
    source = started(CaptureSource("mic", "no such microphone"))
    assert time.monotonic() - begin < 1.0  # start() itself never waits on PortAudio
    status, _ = _wait_for(source, lambda s: s.state is AudioState.LOST)
    assert status.error is not None
    assert status.error.startswith("no audio input device matches 'no such microphone'")
    assert source.read(0, 800).shape == (800, 2) and not source.read(0, 800).any()
    begin = time.monotonic()
    source.stop()
    assert time.monotonic() - begin < 1.0  # the retry thread stops promptly


def test_ring_drops_oldest_and_pads_silence() -> None:
    source = CaptureSource("line in", max_buffer=0.01)  # 480 samples
    source.push(np.full((400, 2), 0.1, np.float32))
    source.push(np.full((200, 1), 0.2, np.float32))  # mono, heard on both sides
    assert source.overflows == 120
    block = source.read(0, 800)
    assert np.allclose(block[:280], 0.1) and np.allclose(block[280:480], 0.2)
    assert not block[480:].any() and source.underflows == 320


class _ClockedStream:
    """Stands in for sounddevice.InputStream: a thread calling back like a device whose
    clock runs at `actual` samples/s, in 10 ms blocks, until `stall` (if set) is set."""

    actual = 48_000.0
    stall: threading.Event | None = None

    def __init__(self, *, callback: Any, channels: int, **_: Any) -> None:
        self._callback, self._channels = callback, channels
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start, sent = time.monotonic(), 0
        while not self._done.wait(0.01):
            if self.stall is not None and self.stall.is_set():
                continue
            due = int((time.monotonic() - start) * self.actual) - sent
            if due > 0:
                self._callback(np.full((due, self._channels), 0.25, np.float32), due, None, 0)
                sent += due

    def start(self) -> None:
        self._thread.start()

    def abort(self) -> None:
        self._done.set()
        self._thread.join()

    def close(self) -> None:
        pass


def _stand_in(monkeypatch: pytest.MonkeyPatch, stream: type[_ClockedStream]) -> None:
    """PortAudio as it is on a machine with speakers and a mono USB microphone."""
    fake = SimpleNamespace(
        query_hostapis=lambda: [{"name": "ALSA"}],
        query_devices=lambda: [
            {"name": "Speakers", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48e3},
            {"name": "USB Mic", "hostapi": 0, "max_input_channels": 1, "default_samplerate": 48e3},
        ],
        check_input_settings=lambda **_: None,
        InputStream=stream,
        PortAudioError=RuntimeError,
        CallbackAbort=RuntimeError,
        _initialized=1,
        _terminate=lambda: None,
        _initialize=lambda: None,
    )
    monkeypatch.setattr("media.audio.capture._sounddevice", lambda: fake)


def test_device_list_and_lookup_with_a_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    _stand_in(monkeypatch, _ClockedStream)
    assert [(d.index, d.name, d.host_api) for d in list_audio_devices()] == [(1, "USB Mic", "ALSA")]
    assert find_input_device("usb").index == 1
    with pytest.raises(NoAudioDevice, match="matches 'webcam'"):
        find_input_device("webcam")


def test_a_slow_device_clock_is_noted_while_live(
    monkeypatch: pytest.MonkeyPatch, started: Callable[[CaptureSource], CaptureSource]
) -> None:
    class Slow(_ClockedStream):
        actual = 40_000.0  # 17 % slow

    _stand_in(monkeypatch, Slow)
    source = started(CaptureSource("mic", "usb"))
    status, _ = _wait_for(source, lambda s: s.error is not None)
    assert status.state is AudioState.LIVE
    assert (status.sample_rate, status.channels) == (48_000, 1)
    assert "'USB Mic' delivers" in (status.error or "") and "not 48000" in (status.error or "")
    assert np.allclose(_capture(source, 800), 0.25)  # mono, on both sides


def test_a_device_that_stops_calling_back_is_lost_then_reopened(
    monkeypatch: pytest.MonkeyPatch, started: Callable[[CaptureSource], CaptureSource]
) -> None:
    stall = threading.Event()

    class Stalling(_ClockedStream):
        pass

    Stalling.stall = stall
    _stand_in(monkeypatch, Stalling)
    source = started(CaptureSource("mic", "usb"))
    _wait_for(source, lambda s: s.state is AudioState.LIVE)
    stall.set()
    status, to_lost = _wait_for(source, lambda s: s.state is AudioState.LOST)
    assert status.error == "audio device 'USB Mic' stopped delivering"
    assert to_lost < 1.5
    stall.clear()
    status, _ = _wait_for(source, lambda s: s.state is AudioState.LIVE)
    assert status.error is None
