"""Helpers for the SRT tests: media made in memory, ffmpeg/ffprobe, ports, polling."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np
import pytest

from media.srt import SrtConnection, SrtListener, SrtOptions, SrtTimeout, connect

T = TypeVar("T")
C = TypeVar("C", SrtConnection, SrtListener)


class Closer:
    """Hands things back unchanged and closes them all at teardown, newest first."""

    def __init__(self) -> None:
        self._things: list[SrtConnection | SrtListener] = []

    def __call__(self, thing: C) -> C:
        self._things.append(thing)
        return thing

    def close_all(self) -> None:
        for thing in reversed(self._things):
            thing.close()


PASSPHRASE = "correct-horse-battery-staple"  # 10..79 bytes, as libsrt wants
TS_PACKET = 188


def wait_for(probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


def udp_port_bound(port: int) -> bool:
    """True while some process holds 127.0.0.1:port (UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed: apt-get install ffmpeg (Debian's is built with libsrt)")
    return path


def make_ts(
    seconds: float = 1.0, size: tuple[int, int] = (320, 180), fps: int = 30, audio: bool = True
) -> bytes:
    """An MPEG-TS with H.264 (zero-latency, in-band SPS/PPS) and optionally Opus, in memory."""
    out = io.BytesIO()
    with av.open(out, "w", format="mpegts") as ts:
        video = ts.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
        sound = None
        if audio:
            sound = ts.add_stream("libopus", rate=48000)
            sound.layout = "stereo"
        frames = round(seconds * fps)
        for i in range(frames):
            picture = np.full((size[1], size[0], 3), (i * 8) % 256, dtype=np.uint8)
            picture[:, (i * 4) % size[0]] = 255  # something that moves
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            ts.mux(video.encode(frame))
        ts.mux(video.encode(None))
        if sound is not None:
            for i, chunk in enumerate(_tone(seconds)):
                ts.mux(sound.encode(_audio_frame(chunk, i * 960)))
            ts.mux(sound.encode(None))
    data = out.getvalue()
    assert len(data) % TS_PACKET == 0
    return data


def _tone(seconds: float) -> Iterator[np.ndarray[Any, np.dtype[np.float32]]]:
    t = np.arange(round(seconds * 48000), dtype=np.float32) / 48000
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, len(wave) - 959, 960):
        yield wave[start : start + 960]


def _audio_frame(mono: np.ndarray[Any, np.dtype[np.float32]], pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.stack([mono, mono]), format="fltp", layout="stereo")
    frame.sample_rate = 48000
    frame.pts = pts
    frame.time_base = Fraction(1, 48000)
    return frame


def ffprobe_streams(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            binary("ffprobe"),
            *("-v", "error", "-count_packets", "-show_streams", "-of", "json"),
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=20,
    )
    streams: list[dict[str, Any]] = json.loads(out.stdout)["streams"]
    return streams


def connect_retrying(host: str, port: int, options: SrtOptions, within: float) -> SrtConnection:
    """What a sender's reconnect loop does: call until a listener answers."""
    deadline = time.monotonic() + within
    while True:
        try:
            return connect(host, port, options)
        except SrtTimeout:
            if time.monotonic() > deadline:
                raise


def has_idr(payload: bytes) -> bool:
    """An H.264 Annex B payload containing an IDR slice (NAL type 5)."""
    at = payload.find(b"\x00\x00\x01")
    while at != -1 and at + 3 < len(payload):
        if payload[at + 3] & 0x1F == 5:
            return True
        at = payload.find(b"\x00\x00\x01", at + 3)
    return False
