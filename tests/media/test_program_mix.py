"""The program bus: the limiter keeps the mix below 0 dBFS, loudness reads true, and a
channel that goes quiet for a long time says so."""

from __future__ import annotations

import numpy as np
import pytest

from media.audio.frames import SAMPLE_RATE
from media.audio.limiter import Limiter
from media.audio.loudness import LoudnessMeter
from media.audio.mixer import PROGRAM, SILENCE_S, AudioMixer, ChannelSettings
from media.audio.source import AudioState
from media.audio.tone import ToneSource


class _Silence(ToneSource):
    def __init__(self, name: str) -> None:
        super().__init__(name, level_dbfs=-200.0)


def _mix(mixer: AudioMixer, seconds: float, start: int = 0) -> np.ndarray:
    blocks = [
        mixer.render(n * 800, 800, {}).samples for n in range(start, start + int(seconds * 60))
    ]
    return np.vstack(blocks)


def test_three_full_scale_channels_never_reach_0_dbfs() -> None:
    mixer = AudioMixer()
    for n, hz in enumerate((440.0, 554.0, 659.0)):
        mixer.add(ToneSource(f"ch{n}", frequency=hz, level_dbfs=0.0))
    out = _mix(mixer, 2.0)
    assert np.abs(out).max() < 1.0
    # After the attack the ceiling holds: peaks sit at -1 dBFS, not squashed far below.
    settled = np.abs(out[SAMPLE_RATE:]).max()
    assert 0.85 < settled < 0.95
    assert mixer.limiter.reduction_db > 6.0
    assert mixer.meters()[PROGRAM].peak_dbfs[0] < 0.0


def test_the_limiter_leaves_a_mix_below_the_ceiling_untouched() -> None:
    limiter = Limiter()
    t = np.arange(4800) / SAMPLE_RATE
    quiet = np.repeat((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None], 2, 1)
    assert np.array_equal(limiter.process(quiet), quiet)
    assert limiter.reduction_db == 0.0


def test_the_limiter_releases_slowly_after_a_peak() -> None:
    limiter = Limiter(release_db_per_s=20.0)
    limiter.process(np.full((800, 2), 4.0, np.float32))  # 12 dB over: about 13 dB of reduction
    held = limiter.reduction_db
    quiet = np.full((800, 2), 0.1, np.float32)
    for _ in range(30):  # half a second: 10 dB of release
        limiter.process(quiet)
    assert held - 11 < limiter.reduction_db < held - 9


def test_short_term_loudness_of_the_ebu_reference_tone() -> None:
    # EBU Tech 3341 case 1: 1 kHz stereo sine at -23 dBFS reads -23.0 LUFS (±0.1 allowed).
    meter = LoudnessMeter()
    tone = ToneSource(level_dbfs=-23.0)
    for n in range(4 * 60):
        meter.update(tone.read(n * 800, 800))
    assert meter.lufs() == pytest.approx(-23.0, abs=0.1)


def test_loudness_is_over_the_last_three_seconds() -> None:
    meter = LoudnessMeter()
    loud, quiet = ToneSource(level_dbfs=-10.0), ToneSource(level_dbfs=-30.0)
    for n in range(3 * 60):
        meter.update(loud.read(n * 800, 800))
    for n in range(3 * 60):
        meter.update(quiet.read(n * 800, 800))
    assert meter.lufs() == pytest.approx(-30.0, abs=0.2)


def test_a_channel_quiet_for_long_reads_silent_and_recovers_at_once() -> None:
    mixer = AudioMixer()
    mixer.add(_Silence("mic"), ChannelSettings())
    mixer.add(ToneSource("bed", level_dbfs=-30.0))
    _mix(mixer, SILENCE_S - 0.5)
    assert mixer.statuses()["mic"].state is AudioState.LIVE
    _mix(mixer, 1.0, start=600)
    status = mixer.statuses()["mic"]
    assert status.state is AudioState.SILENT and status.error is not None
    assert "-60 dBFS" in status.error
    assert mixer.statuses()["bed"].state is AudioState.LIVE
    mixer.remove("mic")
    mixer.add(ToneSource("mic", level_dbfs=-40.0))
    _mix(mixer, 0.1, start=1200)
    assert mixer.statuses()["mic"].state is AudioState.LIVE


def test_a_muted_channel_is_not_reported_silent() -> None:
    # Silence is about the input: a muted mic that still picks up the room is fine.
    mixer = AudioMixer()
    mixer.add(ToneSource("mic", level_dbfs=-40.0), ChannelSettings(mute=True))
    _mix(mixer, SILENCE_S + 1)
    assert mixer.statuses()["mic"].state is AudioState.LIVE
