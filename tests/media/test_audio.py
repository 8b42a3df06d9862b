"""Test tone, meters, the mixer (gain, mute, AFV) and program audio framing."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from media.audio.frames import AudioFrame, audio_pts, samples_for_tick
from media.audio.meter import MIN_DBFS, LevelMeter
from media.audio.mixer import PROGRAM, AudioMixer, ChannelSettings
from media.audio.tone import ToneSource
from media.clock import ClockConfig, ProgramClock
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
