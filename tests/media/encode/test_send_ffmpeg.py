"""Our senders against an independent SRT peer: Debian's ffmpeg as the listener."""

from __future__ import annotations

import itertools
import os
import signal
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from media.send.link import LinkPhase
from media.stamp import decode_stamp
from tests.media.encode.show import Show, target
from tests.media.encode.support import PASSPHRASE
from tests.media.srt.support import binary, ffprobe_streams, udp_port_bound, wait_for
from tests.support.procs import free_udp_port


class FfmpegListener:
    """`ffmpeg -i srt://...?mode=listener&passphrase=... -c copy out.ts`: one caller, recorded."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.port = free_udp_port()
        self.out = tmp / f"{name}.ts"
        self.log = tmp / f"{name}.log"
        url = (
            f"srt://127.0.0.1:{self.port}?mode=listener&passphrase={PASSPHRASE}&pbkeylen=32"
            "&latency=20000"  # ffmpeg counts microseconds
        )
        self.proc = subprocess.Popen(
            [
                binary("ffmpeg"),
                *("-nostdin", "-hide_banner", "-loglevel", "warning", "-y"),
                *("-i", url, "-c", "copy", "-f", "mpegts", str(self.out)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        wait_for(lambda: udp_port_bound(self.port) or self.proc.poll() is not None, 5, "ffmpeg")

    def finish(self) -> None:
        try:
            self.proc.wait(timeout=10)  # it ends when our caller hangs up
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def ffmpeg(tmp_path: Path, libsrt: str) -> Iterator[dict[str, FfmpegListener]]:
    listeners = {name: FfmpegListener(tmp_path, name) for name in ("hi", "lo")}
    yield listeners
    for listener in listeners.values():
        listener.kill()


def test_ffmpeg_receives_both_layers_as_specified(
    show: Show, ffmpeg: dict[str, FfmpegListener]
) -> None:
    output = show.send({name: target(rx.port, name) for name, rx in ffmpeg.items()})
    wait_for(
        lambda: all(s.frames_sent >= 100 for s in output.stats().layers), 10, "100 frames each"
    )
    output.stop()
    expected = {"hi": (640, 360, 60), "lo": (320, 180, 30)}
    channels = {"hi": 2, "lo": 1}  # each layer's own Opus: hi stereo, lo mono
    for name, listener in ffmpeg.items():
        listener.finish()
        found = {s["codec_type"]: s for s in ffprobe_streams(listener.out)}
        video, audio = found["video"], found["audio"]
        assert (video["codec_name"], video["profile"]) == ("h264", "Constrained Baseline")
        assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == (
            "opus",
            "48000",
            channels[name],
        )
        with av.open(str(listener.out)) as container:
            frames = list(container.decode(video=0))
        # The rate from the frames' own times: a loaded machine's program clock skips a tick
        # now and then, and lo then takes the next one (a true time off its 30 fps grid),
        # which makes ffprobe's r_frame_rate read 60/1; the usual spacing is the layer's.
        times = [float(f.time) for f in frames if f.time is not None]
        fps = round(1 / statistics.median(b - a for a, b in itertools.pairwise(times)))
        assert (video["width"], video["height"], fps) == expected[name]
        stamps = [decode_stamp(f) for f in frames]
        assert len(frames) >= 100, listener.log.read_text()
        assert sum(s is not None for s in stamps) >= 0.95 * len(frames)  # legible, even at 180p
        readable = [s for s in stamps if s is not None]
        assert readable == sorted(readable)  # capture times only move forward


def test_a_frozen_ffmpeg_is_noticed_and_retried(
    show: Show, ffmpeg: dict[str, FfmpegListener]
) -> None:
    listener = ffmpeg["hi"]
    output = show.send({"hi": target(listener.port, "hi")})
    wait_for(lambda: output.stats().layer("hi").frames_sent >= 30, 5, "frames flowing")
    os.kill(listener.proc.pid, signal.SIGSTOP)  # alive, but silent: no ACKs, no goodbye
    ticks = show.clock.stats.ticks
    state = wait_for(
        lambda: (s := output.stats().layer("hi")).phase is not LinkPhase.CONNECTED and s,
        # libsrt calls a silent peer gone only after about 5 s on loopback; the sender sees
        # the ACKs stop and gives up after the LAN profile's 1.5 s (media/send/silence.py).
        9,
        "the sender to notice the silence",
    )
    assert state.state.startswith(("retrying", "connecting"))
    clock = show.clock.stats
    assert clock.skipped_ticks <= 0.05 * clock.ticks  # a loaded machine may skip a few
    assert show.clock.stats.ticks - ticks >= 60  # the show went on meanwhile (60 fps)
