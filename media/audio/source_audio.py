"""The sound that travels with a video source (NDI, a media file), kept in step with its picture.

The source's own thread pushes each audio block with the time of its first sample, and tells
`video_frame` the time of each picture it writes to its slot; both times are on the source's
clock (NDI timestamps, or a file's pts), in 100 ns units. The mixer reads one tick at a time.

How the two stay together, simply: the ring's samples are contiguous, so the time of the
oldest (the head) is the end time of the last block minus what is still buffered. The sound
a tick should play starts at the time of the picture the program clock shows, plus how far
the clock has read since that picture first showed (a 30 fps picture on a 60 fps clock is
shown twice; its second tick plays its second half). Each read compares the head with that:

- sound early by more than `SLACK`, or late by more than one tick and `SLACK`, for `STEADY`
  reads in a row: correct by the smallest of those offsets. A single offset is noise.
- more than `BIG` apart (audio very late, the clock stalled, a late start): correct at once.

Late is skipped away (those samples belong to pictures already gone), early is waited out
with silence. Why late gets a tick more: a picture that arrives just after a tick is shown
a tick late, and its sound, which came with it, cannot play before it came; the ring runs
dry for that tick and the sound is then a tick behind. Left there, it is the jitter buffer
that keeps the next late picture from cutting the sound again; pulled back, every late
picture would cost a gap and a skip. Sound a tick late is far below what anyone notices
(ITU-R BT.1359: 125 ms late, 45 ms early).

A forward jump in a block's time by more than `GAP` (dropped frames, a file's loop) is
filled with silence, so the head's time stays true; smaller ones are a sender's jitter
(NDI stamps a frame max(hand-over time, previous end) unless the sender sets the time).
Times that are missing, or more than `ALIGN_RANGE` away from the picture's (two unrelated
clocks), turn alignment off: the ring then plays as it comes.

Start/stop belong to the video source: `start`/`stop` here only clear the ring, so a mixer
that stops its channels does not stop a camera. The status follows the video source's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from media.audio.convert import ToProgram
from media.audio.frames import CHANNELS, F32, SAMPLE_RATE
from media.audio.ring import AudioRing
from media.audio.source import AudioState, AudioStatus
from media.sources.base import SourceState, SourceStatus

TICKS = 10_000_000  # source time units per second (NDI's 100 ns)
SLACK = TICKS // 500  # 2 ms: timestamp jitter that is not worth a skip or a gap
GAP = TICKS // 50  # 20 ms: a jump in audio time this big is lost sound, not send jitter
BIG = TICKS // 20  # 50 ms: beyond lip-sync tolerance (45 ms early): corrected at once
STEADY = 6  # reads (0.1 s at 60 fps) an offset must last before it is corrected
ALIGN_RANGE = TICKS  # beyond 1 s apart, audio and video times are not on one clock
NO_AUDIO_AFTER = 1.0  # s of pictures without sound before the source counts as silent-by-design

_VIDEO_TO_AUDIO = {
    SourceState.STARTING: AudioState.STARTING,
    SourceState.LOST: AudioState.LOST,
    SourceState.STOPPED: AudioState.STOPPED,
}


def ticks_to_samples(ticks: int) -> int:
    return ticks * SAMPLE_RATE // TICKS


def samples_to_ticks(samples: int) -> int:
    return samples * TICKS // SAMPLE_RATE


class SourceAudio:
    """One video source's audio as an `AudioSource`; its name is the video source's."""

    def __init__(
        self, name: str, video_status: Callable[[], SourceStatus], *, max_s: float = 0.5
    ) -> None:
        self._name = name
        self._video_status = video_status
        # Alignment, not the ring's prime, absorbs the jitter: a prime would hold the sound
        # back by its length after every late picture.
        self._ring = AudioRing(channels=CHANNELS, max_s=max_s, prime_s=0.005)
        self._capacity = int(max_s * SAMPLE_RATE)
        self._lock = threading.Lock()  # the ring and the head's time change together
        self._convert: ToProgram | None = None
        self._format: tuple[int, int] | None = None  # (rate, channels) the source sends
        self._held = 0.0  # samples (at 48 kHz) the resampler holds back for its filter
        self._end: int | None = None  # time just after the last pushed sample
        self._video: int | None = None  # time of the latest picture
        self._shown: tuple[int, int] | None = None  # (picture time, sample_pts it first showed)
        self._leads: deque[int] = deque(maxlen=STEADY)  # head minus wanted, last reads
        self._owed = 0  # samples of silence still to play before the ring's
        self._since = time.monotonic()  # when the session began (for NO_AUDIO)
        self._last_audio: float | None = None
        self.skipped = 0  # samples dropped to catch up with the picture
        self.padded = 0  # samples of silence inserted to wait for it

    @property
    def name(self) -> str:
        return self._name

    @property
    def status(self) -> AudioStatus:
        video = self._video_status()
        rate, channels = self._format or (None, None)
        if video.state in _VIDEO_TO_AUDIO:
            return AudioStatus(_VIDEO_TO_AUDIO[video.state], video.error, rate, channels)
        now, last = time.monotonic(), self._last_audio
        if last is not None and now - last <= NO_AUDIO_AFTER:
            return AudioStatus(AudioState.LIVE, None, rate, channels)
        if now - max(self._since, last or 0.0) > NO_AUDIO_AFTER:
            return AudioStatus(AudioState.NO_AUDIO, "the source sends pictures but no sound")
        return AudioStatus(AudioState.STARTING)

    @property
    def underflows(self) -> int:
        """Samples of silence played because the source's sound had not arrived."""
        return self._ring.underflows

    @property
    def overflows(self) -> int:
        return self._ring.overflows

    def start(self) -> None:
        self._ring.clear()

    def stop(self) -> None:
        self._ring.clear()

    # -- the source's thread -------------------------------------------------------------

    def reset(self) -> None:
        """A new session of the source (connected again, file reopened): forget the old one."""
        with self._lock:
            self._ring.clear()
            self._end = self._video = self._shown = None
            self._leads.clear()
            self._owed = 0
            self._convert = self._format = None
        self._since, self._last_audio = time.monotonic(), None

    def push(self, samples: F32, rate: int, at: int | None) -> None:
        """Interleaved (n, channels) float32 at `rate`, first sample at time `at` (or unknown)."""
        n, channels = samples.shape
        if self._format != (rate, channels):
            self._convert, self._format, self._held = ToProgram(rate), (rate, channels), 0.0
        assert self._convert is not None
        block = self._convert(samples)
        self._held += n * SAMPLE_RATE / rate - block.shape[0]
        self._last_audio = time.monotonic()
        with self._lock:
            if at is None:
                self._end = None
            else:
                if self._end is not None and at - self._end > GAP:
                    self._fill_gap(ticks_to_samples(at - self._end))
                # The ring ends where the resampler's output does, a little before the input.
                self._end = at + n * TICKS // rate - samples_to_ticks(round(self._held))
            self._ring.push(block)

    def _fill_gap(self, samples: int) -> None:
        if samples >= self._capacity:
            self._ring.clear()
        else:
            self._ring.push(np.zeros((samples, CHANNELS), np.float32))

    def video_frame(self, at: int | None) -> None:
        """The picture about to be written to the slot began at time `at`."""
        self._video = at

    # -- the mixer's thread --------------------------------------------------------------

    def read(self, sample_pts: int, count: int) -> F32:
        with self._lock:
            self._align(sample_pts, samples_to_ticks(count))
            wait = min(self._owed, count)
            self._owed -= wait
            if wait == 0:
                return self._ring.read(count)
            out = np.zeros((count, CHANNELS), np.float32)
            out[wait:] = self._ring.read(count - wait)
            return out

    def _align(self, sample_pts: int, tick: int) -> None:
        lead = self._lead(sample_pts)
        if lead is None:
            return
        self._leads.append(lead)
        if abs(lead) > BIG:
            correction = lead
        elif len(self._leads) == STEADY and all(x > SLACK for x in self._leads):
            correction = min(self._leads)
        elif len(self._leads) == STEADY and all(x < -(tick + SLACK) for x in self._leads):
            correction = max(self._leads)
        else:
            return
        self._leads.clear()
        if correction < 0:
            self.skipped += self._ring.skip(ticks_to_samples(-correction))
        else:
            self._owed = ticks_to_samples(correction)
            self.padded += self._owed

    def _lead(self, sample_pts: int) -> int | None:
        """How far the ring's head is ahead of the sound this tick should play, or None."""
        video = self._video
        if video is None:
            return None
        if self._shown is None or self._shown[0] != video:
            self._shown = (video, sample_pts)
        if self._end is None or self._ring.buffered == 0 or self._owed:
            return None
        wanted = video + samples_to_ticks(sample_pts - self._shown[1])
        lead = self._end - samples_to_ticks(self._ring.buffered) - wanted
        return lead if abs(lead) <= ALIGN_RANGE else None
