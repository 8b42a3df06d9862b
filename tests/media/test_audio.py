"""Test tone, meters, the mixer (gain, mute, AFV) and program audio framing."""

from __future__ import annotations

import time
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from media.audio.capture import CaptureSource, find_input_device, list_audio_devices
from media.audio.frames import AudioFrame, audio_pts, samples_for_tick
from media.audio.meter import MIN_DBFS, LevelMeter
from media.audio.mixer import PROGRAM, AudioMixer, ChannelSettings
from media.audio.tone import ToneSource
from media.clock import ClockConfig, ProgramClock
from media.errors import NoAudioDevice
from media.frames import Size
from media.switcher import Fade, SwitcherState, Transition, TransitionKind


def _run(mixer: AudioMixer, ticks: int, on_air: dict[str, float]) -> AudioFrame:
    frame = None
    for n in range(ticks):
        frame = mixer.render(n * 800, 800, on_air)
    assert frame is not None
    return frame


def test_tone_reads_minus_20_peak_and_minus_23_rms() -> None:
    meter = LevelMeter()
    tone = ToneSource(level_dbfs=-20.0)
    for n in range(8):
        meter.update(tone.read(n * 800, 800))
    reading = meter.reading()
    for peak, rms in zip(reading.peak_dbfs, reading.rms_dbfs, strict=True):
        assert peak == pytest.approx(-20.0, abs=0.1)
        assert rms == pytest.approx(-23.01, abs=0.1)


def test_tone_is_continuous_across_blocks() -> None:
    tone = ToneSource(frequency=997.0)
    whole = tone.read(1_000_000, 1600)
    halves = np.vstack([tone.read(1_000_000, 800), tone.read(1_000_800, 800)])
    assert np.allclose(whole, halves, atol=1e-6)


def test_gain_and_mute() -> None:
    mixer = AudioMixer()
    mixer.add(ToneSource("a", level_dbfs=-20.0), ChannelSettings(gain_db=-6.0))
    mixer.add(ToneSource("b", frequency=440.0), ChannelSettings(mute=True))
    _run(mixer, 8, {})
    meters = mixer.meters()
    assert meters["a"].peak_dbfs[0] == pytest.approx(-26.0, abs=0.1)
    assert meters["b"].peak_dbfs[0] == MIN_DBFS
    assert meters[PROGRAM].peak_dbfs[0] == pytest.approx(-26.0, abs=0.1)
    mixer.configure("b", ChannelSettings(mute=False, gain_db=-20.0))
    mixer.configure("a", ChannelSettings(mute=True))
    _run(mixer, 8, {})
    meters = mixer.meters()
    assert meters["a"].peak_dbfs[0] == MIN_DBFS
    assert meters["b"].peak_dbfs[0] == pytest.approx(-40.0, abs=0.1)


def test_audio_follows_video_and_crossfades_with_a_mix() -> None:
    mixer = AudioMixer()
    mixer.add(ToneSource("mic 1", level_dbfs=-20.0), ChannelSettings(follow_video="cam1"))
    mixer.add(ToneSource("mic 2", level_dbfs=-20.0), ChannelSettings(follow_video="cam2"))
    mixer.add(ToneSource("music", level_dbfs=-30.0, frequency=500.0))
    _run(mixer, 8, SwitcherState(program="cam1").on_air(0))
    meters = mixer.meters()
    assert meters["mic 1"].peak_dbfs[0] == pytest.approx(-20.0, abs=0.1)
    assert meters["mic 2"].peak_dbfs[0] == MIN_DBFS
    assert meters["music"].peak_dbfs[0] == pytest.approx(-30.0, abs=0.1)  # not AFV: always live
    mix = Transition(TransitionKind.MIX, "cam2", start_pts=0, duration=10)
    halfway = SwitcherState(program="cam1", transition=mix).on_air(4)
    assert halfway == {"cam1": 0.5, "cam2": 0.5}
    _run(mixer, 8, halfway)
    meters = mixer.meters()
    assert meters["mic 1"].peak_dbfs[0] == pytest.approx(-26.02, abs=0.1)
    assert meters["mic 2"].peak_dbfs[0] == pytest.approx(-26.02, abs=0.1)


def test_gain_changes_ramp_instead_of_clicking() -> None:
    mixer = AudioMixer(channels=1)
    mixer.add(ToneSource("a", level_dbfs=-6.0, channels=1, frequency=12_000.0))
    mixer.render(0, 800, {})
    mixer.configure("a", ChannelSettings(mute=True))
    block = mixer.render(800, 800, {}).samples[:, 0]
    envelope = np.abs(block).reshape(-1, 4).max(axis=1)  # one 12 kHz period per 4 samples
    assert envelope[0] > 0.49 and envelope[-1] < 0.01
    assert np.all(np.diff(envelope) < 0.01)  # falls steadily, no step


def test_program_audio_frames_align_to_video_pts() -> None:
    assert samples_for_tick(0, Fraction(60)) == 800
    assert audio_pts(3, Fraction(60)) == 2400
    ntsc = Fraction(60000, 1001)
    counts = [samples_for_tick(n, ntsc) for n in range(5)]
    assert sum(counts) == 4004 and set(counts) == {800, 801}
    assert audio_pts(60000, ntsc) == 1001 * 48_000  # no drift after 1001 s worth of ticks
    mixer = AudioMixer()
    mixer.add(ToneSource())
    clock = ProgramClock(SwitcherState, ClockConfig(size=Size(64, 36)), audio=mixer)
    frame = clock.render_audio(120, SwitcherState())
    assert frame is not None and frame.pts == 96_000 and frame.count == 800
    packed = frame.to_av()
    assert packed.sample_rate == 48_000 and packed.samples == 800 and packed.pts == 96_000


def test_fade_to_black_fades_program_audio() -> None:
    mixer = AudioMixer()
    mixer.add(ToneSource(level_dbfs=-20.0))
    state = SwitcherState(program="cam1", ftb=Fade(to_black=True, start_pts=0, duration=1))
    for n in range(8):
        mixer.render(n * 800, 800, state.on_air(n), state.black_level(n))
    assert mixer.meters()[PROGRAM].peak_dbfs[0] == MIN_DBFS


def test_capture_ring_drops_oldest_and_pads_silence() -> None:
    source = CaptureSource("line in", max_buffer=0.01)  # 480 samples
    source.push(np.full((400, 2), 0.1, np.float32))
    source.push(np.full((200, 2), 0.2, np.float32))
    assert source.overflows == 120
    block = source.read(0, 800)
    assert np.allclose(block[:280], 0.1) and np.allclose(block[280:480], 0.2)
    assert np.all(block[480:] == 0) and source.underflows == 320


def _devices() -> list[object]:
    try:
        return list(list_audio_devices())
    except NoAudioDevice:
        return []


def test_no_device_is_a_named_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # PortAudio as it is on a machine whose only device plays and cannot record.
    speakers_only = SimpleNamespace(
        query_hostapis=lambda: [{"name": "ALSA"}],
        query_devices=lambda: [
            {"name": "Speakers", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48e3}
        ],
        PortAudioError=RuntimeError,
    )
    monkeypatch.setattr("media.audio.capture._sounddevice", lambda: speakers_only)
    with pytest.raises(NoAudioDevice, match="no audio input device"):
        find_input_device()
    with pytest.raises(NoAudioDevice):
        CaptureSource("mic").start()
    # The tone needs no device at all.
    assert ToneSource().read(0, 800).shape == (800, 2)


class _FakeStream:
    """Stands in for sounddevice.InputStream: calls back once, from a 'device' with one channel."""

    def __init__(self, *, callback: Any, channels: int, **_: Any) -> None:
        self._callback, self._channels = callback, channels

    def start(self) -> None:
        mono = np.full((480, self._channels), 0.25, np.float32)
        self._callback(mono, 480, None, None)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_capture_wiring_with_a_stand_in_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code path around PortAudio, on machines with no audio hardware."""
    fake = SimpleNamespace(
        query_hostapis=lambda: [{"name": "ALSA"}],
        query_devices=lambda: [
            {"name": "Speakers", "hostapi": 0, "max_input_channels": 0, "default_samplerate": 48e3},
            {"name": "USB Mic", "hostapi": 0, "max_input_channels": 1, "default_samplerate": 48e3},
        ],
        InputStream=_FakeStream,
        PortAudioError=RuntimeError,
    )
    monkeypatch.setattr("media.audio.capture._sounddevice", lambda: fake)
    assert [(d.index, d.name, d.host_api) for d in list_audio_devices()] == [(1, "USB Mic", "ALSA")]
    with pytest.raises(NoAudioDevice, match="matches 'webcam'"):
        find_input_device("webcam")
    source = CaptureSource("mic", "usb")
    source.start()
    assert source.buffered == 480
    block = source.read(0, 480)
    assert block.shape == (480, 2) and np.allclose(block, 0.25)  # mono copied to both sides
    source.stop()


@pytest.mark.skipif(not _devices(), reason="PortAudio found no audio input device here")
def test_capture_from_a_real_device() -> None:
    source = CaptureSource("default input")
    source.start()
    try:
        deadline = time.monotonic() + 3
        while source.buffered < 4800 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert source.buffered >= 4800, "the device delivered no samples in 3 s"
        block = source.read(0, 4800)
        assert block.shape == (4800, 2) and block.dtype == np.float32
    finally:
        source.stop()
