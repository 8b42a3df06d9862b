"""NDI sound against a real ndi-python sender on loopback (media/ndi_test_sender.py).

The reads are driven as the program clock drives them: once per 60 fps tick, the slot
first, then 800 samples of audio.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from media.audio.frames import F32, SAMPLE_RATE
from media.audio.source import AudioState
from media.audio.source_audio import BIG, TICKS, SourceAudio
from media.ndi_test_sender import CLICK_LEVEL, NdiTestSender
from media.sources.base import RetryPolicy, SourceState, SourceStatus, ThreadedSource
from media.sources.ndi import NdiSource
from tests.media.support import LOOPBACK, Tick, drive, wait_for

FAST = RetryPolicy(signal_timeout=0.5, first_delay=0.05, max_delay=0.3)
FPS = 60
TICK = SAMPLE_RATE // FPS
Start = Callable[[ThreadedSource], ThreadedSource]
Sender = Callable[..., NdiTestSender]


@pytest.fixture
def sender() -> Iterator[Sender]:
    made: list[NdiTestSender] = []

    def make(**options: object) -> NdiTestSender:
        s = NdiTestSender(f"rf-audio-{uuid.uuid4().hex[:8]}", config=LOOPBACK, **options)  # type: ignore[arg-type]
        s.start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def receive(running: Start, sender: NdiTestSender) -> NdiSource:
    source = running(NdiSource("Cam A", sender.name, config=LOOPBACK, retry=FAST))
    assert isinstance(source, NdiSource)
    wait_for(lambda: source.audio.status.state is AudioState.LIVE, 15.0, "live NDI audio")
    return source


def steady(ticks: list[Tick], count: int) -> F32:
    """The last `count` ticks in a row that all carry sound (a loaded machine may drop one)."""
    run: list[F32] = []
    for tick in ticks:
        run = [*run, tick.audio] if np.abs(tick.audio).max() > 0.01 else []
        if len(run) >= count:
            return np.vstack(run[-count:])
    pytest.fail(f"no {count} ticks in a row with sound")


@pytest.mark.parametrize(
    ("channels", "rate"), [(2, 48_000), (1, 44_100), (8, 96_000), (1, 96_000), (8, 44_100)]
)
def test_tone_survives_any_format(sender: Sender, running: Start, channels: int, rate: int) -> None:
    source = receive(running, sender(audio_channels=channels, audio_rate=rate))
    status = source.audio.status
    assert (status.sample_rate, status.channels) == (rate, channels)
    block = steady(
        drive(source.slot, source.audio, 1.5)[15:], 30
    )  # 0.5 s, after the resampler settles
    assert np.allclose(block[:, 0], block[:, 1])  # mono doubled; channels 1-2 of eight
    spectrum = np.abs(np.fft.rfft(block[:, 0] * np.hanning(len(block))))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(block)
    assert abs(peak_hz - 1000) <= 4
    level_db = 20 * np.log10(np.sqrt(2) * np.sqrt(np.mean(block[:, 0] ** 2)))  # peak of a sine
    assert abs(level_db - (-20)) <= 0.5


def test_click_lands_with_the_flash(sender: Sender, running: Start) -> None:
    """Same NDI timestamp at the sender -> the click within one tick of the white picture."""
    source = receive(running, sender(fps=30, sync=True))
    ticks = drive(source.slot, source.audio, 5.0)[
        30:-30
    ]  # every flash seen has its click within the record
    audio = np.vstack([t.audio for t in ticks])[:, 0]
    clicks = np.flatnonzero(np.abs(audio) > CLICK_LEVEL / 2)
    onsets = [
        int(c) for i, c in enumerate(clicks) if i == 0 or c - clicks[i - 1] > SAMPLE_RATE // 2
    ]
    flashes = [
        i * TICK for i, t in enumerate(ticks) if t.white and (i == 0 or not ticks[i - 1].white)
    ]
    assert len(flashes) >= 3 and len(onsets) >= 3, (flashes, onsets)
    errors_ms = []
    for flash in flashes:
        nearest = min(onsets, key=lambda c: abs(c - flash))
        errors_ms.append((nearest - flash) * 1000 / SAMPLE_RATE)
    audio_stats = source.audio.skipped, source.audio.padded, source.audio.underflows
    print(
        f"click - flash, ms: {[round(e, 1) for e in errors_ms]}; skip/pad/underflow {audio_stats}"
    )
    # One tick, plus the sample or two the onset detection can be late on a burst's slope.
    tick_ms = 1000 / FPS + 0.1
    assert float(np.median(np.abs(errors_ms))) <= tick_ms, errors_ms
    # A starved tick can leave one flash further out, never beyond what is corrected at once.
    assert all(abs(e) <= BIG * 1000 / TICKS + tick_ms for e in errors_ms), errors_ms


def test_video_without_sound_is_no_audio(sender: Sender, running: Start) -> None:
    s = sender(tone_hz=0)
    source = running(NdiSource("Cam B", s.name, config=LOOPBACK, retry=FAST))
    assert isinstance(source, NdiSource)
    wait_for(lambda: source.audio.status.state is AudioState.NO_AUDIO, 15.0, "no-audio state")
    assert source.status.state is SourceState.LIVE
    assert not source.audio.read(0, TICK).any()


def test_sender_gone_is_lost_then_back(sender: Sender, running: Start) -> None:
    s = sender()
    source = receive(running, s)
    s.stop()
    wait_for(lambda: source.audio.status.state is AudioState.LOST, 10.0, "lost audio")
    assert source.audio.status.error
    s.start()
    wait_for(lambda: source.audio.status.state is AudioState.LIVE, 20.0, "audio back")
    wait_for(lambda: np.abs(source.audio.read(0, TICK)).max() > 0.05, 5.0, "the tone again")
    source.stop()
    assert source.audio.status.state is AudioState.STOPPED


def live() -> SourceStatus:
    return SourceStatus(SourceState.LIVE)


def test_format_change_mid_stream_and_a_gap_keep_the_timeline() -> None:
    """No sender needed: the converter follows the format, a lost frame becomes silence."""
    audio = SourceAudio("x", live)
    block = np.full((1600, 2), 0.5, np.float32)
    audio.push(block, 48_000, 0)
    assert (audio.status.sample_rate, audio.status.channels) == (48_000, 2)
    audio.push(np.full((2940, 1), 0.5, np.float32), 96_000, TICKS // 30)
    assert (audio.status.sample_rate, audio.status.channels) == (96_000, 1)
    audio.push(block, 48_000, 3 * TICKS // 30)  # one 33 ms frame lost between
    audio.video_frame(0)
    out = np.vstack([audio.read(i * TICK, TICK) for i in range(8)])[:, 0]
    assert out[:1400].min() > 0.45  # the first two frames, joined without a gap
    assert np.abs(out[3300:4700]).max() < 0.05  # the lost frame: silence in its place
    assert out[4900:6000].min() > 0.45  # the frame after it, on time


def test_sound_running_ahead_of_the_picture_waits_for_it() -> None:
    audio = SourceAudio("x", live)
    audio.push(np.full((24_000, 2), 0.5, np.float32), 48_000, TICKS // 10)  # starts at 100 ms
    audio.video_frame(0)  # but the picture shown is at 0
    out = np.vstack([audio.read(i * TICK, TICK) for i in range(9)])[:, 0]
    start = int(np.flatnonzero(out > 0.25)[0])
    assert abs(start - SAMPLE_RATE // 10) <= TICK  # sound starts 100 ms in, with its picture
