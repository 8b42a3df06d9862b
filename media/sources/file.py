"""A media file, decoded with PyAV, looped, paced at the file's frame rate, with its sound.

The file's first audio stream (if any) is decoded from the same demux as the pictures and
pushed to `source.audio` (media/audio/source_audio.py) stamped with its pts, the pictures
likewise; that keeps the sound with the picture being shown, as NDI timestamps do for an
NDI source. Sound is pushed up to `AUDIO_LEAD` ahead of the next picture so a tick never
waits for it. Each loop continues the timeline where the pass ended, so the sound restarts
with the picture.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from media.audio.frames import F32
from media.audio.source_audio import TICKS, SourceAudio
from media.errors import SourceUnavailable
from media.frames import Frame, Size
from media.sources._convert import to_working
from media.sources.base import DEFAULT_SIZE, RetryPolicy, ThreadedSource

_FALLBACK_RATE = Fraction(25)
AUDIO_LEAD = TICKS // 10  # 0.1 s: muxers interleave audio and video about this closely
_MAX_PICTURES = 30  # decoded ahead while looking for sound; bounds a file whose sound ends early


class FileSource(ThreadedSource):
    def __init__(
        self,
        name: str,
        path: str | Path,
        *,
        size: Size = DEFAULT_SIZE,
        loop: bool = True,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name, size=size, retry=retry)
        self.path = Path(path)
        self.loop = loop
        self.rate = _FALLBACK_RATE
        self.loops = 0  # completed passes through the file
        self.audio = SourceAudio(name, lambda: self.status)
        self._container: av.container.InputContainer | None = None
        self._packets: Iterator[av.Packet[Any]] | None = None
        self._pictures: deque[tuple[av.VideoFrame, int]] = deque()  # with their times
        self._sound = False  # the file has an audio stream
        self._sound_until = 0  # time just after the last sound pushed
        self._offset = 0  # time at which this pass began (each loop adds the pass's length)
        self._pass_end = 0  # end of the latest picture of this pass, from `_offset`
        self._t0 = 0.0
        self._index = 0
        self._in_pass = 0

    def _open(self) -> None:
        try:
            container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError) as exc:
            raise SourceUnavailable(f"cannot open media file {self.path}: {exc}") from exc
        if not container.streams.video:
            container.close()
            raise SourceUnavailable(f"media file {self.path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        self.rate = Fraction(stream.average_rate or stream.guessed_rate or _FALLBACK_RATE)
        self._sound = bool(container.streams.audio)
        self._container = container
        self.audio.reset()
        self._offset = self._pass_end = self._sound_until = 0
        self._start_pass()
        self._t0 = time.monotonic()
        self._index = 0

    def _start_pass(self) -> None:
        assert self._container is not None
        streams = [self._container.streams.video[0], *self._container.streams.audio[:1]]
        self._packets = self._container.demux(streams)
        self._pictures.clear()
        self._in_pass = 0

    def _read(self) -> Frame | None:
        picture, at = self._next_picture()
        due = self._t0 + float(self._index / self.rate)
        self._index += 1
        remaining = due - time.monotonic()
        if remaining > 0 and self._stopping.wait(remaining):
            return None
        if time.monotonic() - due > 1.0:  # stalled (a slow disk): restart the pacing
            self._t0, self._index = time.monotonic(), 1
        frame = to_working(picture, self.size)
        self.audio.video_frame(at)
        return frame

    def _next_picture(self) -> tuple[av.VideoFrame, int]:
        while True:
            if self._pictures and (
                not self._sound
                or self._sound_until >= self._pictures[0][1] + AUDIO_LEAD
                or len(self._pictures) >= _MAX_PICTURES
            ):
                return self._pictures.popleft()
            if not self._demux_one():  # the end of this pass
                if self._pictures:
                    return self._pictures.popleft()
                self._next_pass()

    def _demux_one(self) -> bool:
        """Decode one packet into pictures and pushed sound; False at the end of the file."""
        assert self._packets is not None
        try:
            packet = next(self._packets)
            frames = packet.decode()
        except StopIteration:
            return False
        except av.FFmpegError as exc:
            raise SourceUnavailable(f"cannot decode media file {self.path}: {exc}") from exc
        for frame in frames:
            at = self._offset + _ticks(frame.time)
            if isinstance(frame, av.VideoFrame):
                self._in_pass += 1
                self._pictures.append((frame, at))
                end = at - self._offset + int(TICKS / self.rate)
                self._pass_end = max(self._pass_end, end)
            elif isinstance(frame, av.AudioFrame):
                samples = _interleaved(frame)
                self.audio.push(samples, frame.sample_rate, at)
                self._sound_until = at + samples.shape[0] * TICKS // frame.sample_rate
        return True

    def _next_pass(self) -> None:
        assert self._container is not None
        if self._in_pass == 0:
            raise SourceUnavailable(f"media file {self.path} has no decodable video")
        if not self.loop:
            raise SourceUnavailable(f"media file {self.path} ended")
        self.loops += 1
        self._offset += self._pass_end
        self._pass_end = 0
        self._container.seek(0)
        self._start_pass()

    def _close(self) -> None:
        container, self._container, self._packets = self._container, None, None
        self._pictures.clear()
        if container is not None:
            container.close()
        self.audio.reset()


def _ticks(seconds: float | None) -> int:
    return 0 if seconds is None else round(seconds * TICKS)


def _interleaved(frame: av.AudioFrame) -> F32:
    """A decoded audio frame as (samples, channels) float32 in -1..1."""
    data: npt.NDArray[Any] = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = data.T if frame.format.is_planar else data.reshape(-1, channels)
    if data.dtype.kind == "i":  # s16 / s32: full scale is the type's range
        return np.asarray(data / (2.0 ** (8 * data.dtype.itemsize - 1)), np.float32)
    if data.dtype.kind == "u":  # u8, centred on 128
        return np.asarray((data - 128.0) / 128.0, np.float32)
    return np.asarray(data, np.float32)
