"""Helpers for the encoder and sender tests: program frames made in memory, TS parsing,
listeners that record what they receive."""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np

from media.audio.frames import AudioFrame
from media.clock import OutputFrame
from media.encode.nal import has_idr
from media.frames import Size
from media.pattern import PatternRenderer
from media.srt import LOW_LATENCY_DEMUX, SrtConnection, SrtListener, SrtReader
from media.stamp import now_ms

FPS = 60
TB = Fraction(1, FPS)
PASSPHRASE = "correct-horse-battery-staple"


class Program:
    """Program-clock output without a clock: stamped pattern frames and a 440 Hz tone."""

    def __init__(self, name: str = "Cam1") -> None:
        self._renderer = PatternRenderer(name, Size(640, 360))

    def tick(self, pts: int, size: Size | None = None) -> OutputFrame:
        frame = self._renderer.render(pts, now_ms())
        if size is not None:
            frame = PatternRenderer("odd", size).render(pts, now_ms())
        t = (np.arange(800) + pts * 800) / 48000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        audio = AudioFrame(np.stack([tone, tone], axis=1), pts * 800)
        return OutputFrame(pts, TB, frame, time.monotonic(), audio)


@dataclass
class Demuxed:
    """What a TS carried: video access units (pts, bytes) and audio pts, in arrival order."""

    video: list[tuple[int, bytes]] = field(default_factory=list)
    audio: list[int] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)
    profile: str | None = None

    @property
    def idr_pts(self) -> list[int]:
        return [pts for pts, data in self.video if has_idr(data)]


def demux_bytes(data: bytes) -> Demuxed:
    with av.open(io.BytesIO(data), format="mpegts", options=LOW_LATENCY_DEMUX) as container:
        return _collect(container, limit=None)


def _collect(container: av.container.InputContainer, limit: int | None) -> Demuxed:
    out = Demuxed()
    for packet in container.demux():
        if not packet.size or packet.pts is None:
            continue
        if packet.stream.type == "video":
            out.video.append((packet.pts, bytes(packet)))
            if limit is not None and len(out.video) >= limit:
                break
        elif packet.stream.type == "audio":
            out.audio.append(packet.pts)
    if container.streams.video:
        ctx = container.streams.video[0].codec_context
        out.size, out.profile = (ctx.width, ctx.height), ctx.profile
    return out


class Receiver:
    """Accepts one caller on `listener` and demuxes what it sends, on a thread."""

    def __init__(self, listener: SrtListener, frames: int, timeout: float = 8.0) -> None:
        self.result: Demuxed | None = None
        self.conn: SrtConnection | None = None
        self.error: BaseException | None = None
        self._listener, self._frames, self._timeout = listener, frames, timeout
        self._thread = threading.Thread(target=self._run, name="test-receiver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.conn = self._listener.accept(timeout=self._timeout)
            reader = SrtReader(self.conn, timeout=self._timeout)
            with av.open(reader, format="mpegts", options=LOW_LATENCY_DEMUX) as container:
                self.result = _collect(container, limit=self._frames)
        except BaseException as exc:
            self.error = exc
        finally:
            if self.conn is not None:
                self.conn.close()

    def wait(self, timeout: float = 15.0) -> Demuxed:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the receiver did not finish"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class HoldAtRefusal(logging.Handler):
    """Holds a sender's thread at its "refused the connection" log line, the moment between
    counting a refusal and showing it as the layer's state (a busy machine can preempt the
    thread right there), so a test can look at the stats in that window.

        with HoldAtRefusal() as hold:
            ...start a sender that gets refused...
            assert hold.reached.wait(5)
            ...look at the stats...
            hold.resume.set()
    """

    def __init__(self, logger: str = "media.send.sender") -> None:
        super().__init__(logging.WARNING)
        self.reached = threading.Event()
        self.resume = threading.Event()
        self._logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        if "refused the connection" in record.getMessage() and not self.reached.is_set():
            self.reached.set()
            self.resume.wait(10)

    def __enter__(self) -> HoldAtRefusal:
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.resume.set()
        self._logger.removeHandler(self)
