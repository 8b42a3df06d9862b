"""A media file, decoded with PyAV, looped, paced at the file's frame rate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from media.errors import SourceUnavailable
from media.frames import Frame, Size
from media.sources._convert import to_working
from media.sources.base import DEFAULT_SIZE, RetryPolicy, ThreadedSource

_FALLBACK_RATE = Fraction(25)


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
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] | None = None
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
        self._container = container
        self._frames = container.decode(stream)
        self._t0 = time.monotonic()
        self._index = self._in_pass = 0

    def _read(self) -> Frame | None:
        picture = self._next_picture()
        due = self._t0 + float(self._index / self.rate)
        self._index += 1
        remaining = due - time.monotonic()
        if remaining > 0 and self._stopping.wait(remaining):
            return None
        if time.monotonic() - due > 1.0:  # stalled (a slow disk): restart the pacing
            self._t0, self._index = time.monotonic(), 1
        return to_working(picture, self.size)

    def _next_picture(self) -> av.VideoFrame:
        assert self._container is not None and self._frames is not None
        try:
            picture = next(self._frames)
            self._in_pass += 1
            return picture
        except StopIteration:
            pass
        except av.FFmpegError as exc:
            raise SourceUnavailable(f"cannot decode media file {self.path}: {exc}") from exc
        if self._in_pass == 0:
            raise SourceUnavailable(f"media file {self.path} has no decodable video")
        if not self.loop:
            raise SourceUnavailable(f"media file {self.path} ended")
        self.loops += 1
        self._container.seek(0)
        self._frames = self._container.decode(self._container.streams.video[0])
        self._in_pass = 0
        return self._next_picture()

    def _close(self) -> None:
        container, self._container, self._frames = self._container, None, None
        if container is not None:
            container.close()
