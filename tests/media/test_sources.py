"""Test pattern, file and camera sources, and the shared lose / slate / recover loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest

from media.errors import SourceUnavailable
from media.frames import Frame, Size, solid
from media.pattern import PatternRenderer
from media.sources.base import RetryPolicy, Source, SourceState, SourceStatus, ThreadedSource
from media.sources.camera import CameraSource, list_cameras
from media.sources.file import FileSource
from media.sources.testpattern import TestPatternSource
from media.stamp import age_ms, decode_stamp
from tests.media.support import wait_for

FAST = RetryPolicy(signal_timeout=0.3, first_delay=0.05, max_delay=0.2)
Start = Callable[[ThreadedSource], ThreadedSource]


def test_test_pattern_is_stamped_at_capture(running: Start) -> None:
    source = running(TestPatternSource("CAM 1", size=Size(640, 360), fps=60))
    assert isinstance(source, Source)
    first = wait_for(lambda: source.slot.wait_newer(0, 1.0), 5.0, "a frame")
    second = wait_for(lambda: source.slot.wait_newer(first.seq, 1.0), 5.0, "a newer frame")
    stamp = decode_stamp(second.frame)
    assert stamp is not None and 0 <= age_ms(stamp) < 1000
    assert second.seq > first.seq and not second.slate
    assert source.status.state is SourceState.LIVE


class Flaky(ThreadedSource):
    """Delivers frames while `up` is set; refuses to open while it is not."""

    def __init__(self) -> None:
        super().__init__("flaky", size=Size(64, 36), retry=FAST)
        self.up = threading.Event()
        self.up.set()
        self.opens = 0

    def _open(self) -> None:
        self.opens += 1
        if not self.up.is_set():
            raise SourceUnavailable("flaky is down")

    def _read(self) -> Frame | None:
        if self._stopping.wait(0.01) or not self.up.is_set():
            return None
        return solid(self.size, (0, 200, 0))

    def _close(self) -> None:
        pass


def test_lost_source_shows_slate_and_recovers(running: Start) -> None:
    source = running(Flaky())
    assert isinstance(source, Flaky)
    wait_for(lambda: source.status.state is SourceState.LIVE, 5.0, "live")
    source.up.clear()
    slate = wait_for(lambda: (s := source.slot.read()) and s.slate and s, 5.0, "the slate")
    assert source.status.state is SourceState.LOST
    assert source.status.error is not None and "no frames" in source.status.error
    assert slate.frame.size == source.size
    wait_for(lambda: source.status.retries >= 2, 5.0, "retries")  # backing off, not giving up
    source.up.set()
    wait_for(lambda: (s := source.slot.read()) and not s.slate, 5.0, "the picture back")
    assert source.status == SourceStatus(SourceState.LIVE)  # error and retries cleared


def _write_clip(path: Path, frames: int, fps: int) -> None:
    renderer = PatternRenderer("CLIP", Size(320, 180))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.codec_context.options = {"crf": "10", "preset": "ultrafast"}
        for i in range(frames):
            picture = renderer.render(i, stamp_value=i).to_av()
            picture.pts, picture.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))


def test_file_source_loops_at_the_file_rate(tmp_path: Path, running: Start) -> None:
    clip = tmp_path / "clip.mp4"
    _write_clip(clip, frames=6, fps=60)
    source = running(FileSource("clip", clip, size=Size(640, 360), retry=FAST))
    assert isinstance(source, FileSource)
    stamps: list[int | None] = []
    seq = 0
    while len(stamps) < 15:
        got = source.slot.wait_newer(seq, 5.0)
        assert got is not None, "no file frame within 5 s"
        seq = got.seq
        assert got.frame.size == Size(640, 360)  # scaled to the working size in the source
        stamps.append(decode_stamp(got.frame))
    assert source.rate == 60 and source.loops >= 1
    start = stamps.index(0)
    assert stamps[start : start + 8] == [0, 1, 2, 3, 4, 5, 0, 1]


def test_unreadable_file_gives_slate_and_error_then_recovers(
    tmp_path: Path, running: Start
) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x01garbage, not a video" * 100)
    source = running(FileSource("broken", path, retry=FAST))
    latest = wait_for(source.slot.read, 5.0, "the slate")
    assert latest.slate
    assert source.status.state is SourceState.LOST
    assert "cannot open media file" in (source.status.error or "")
    assert str(path) in (source.status.error or "")
    _write_clip(path, frames=4, fps=30)  # someone fixes the file: it comes back by itself
    wait_for(lambda: (s := source.slot.read()) and not s.slate, 10.0, "the fixed file playing")
    assert source.status.state is SourceState.LIVE


def test_missing_camera_gives_slate_and_clear_error(running: Start) -> None:
    source = running(CameraSource("Desk cam", "/dev/video-missing", retry=FAST))
    latest = wait_for(source.slot.read, 5.0, "the slate")
    assert latest.slate and latest.frame.size == Size(640, 360)
    error = source.status.error or ""
    assert "camera '/dev/video-missing'" in error and "unavailable" in error
    assert "No such file" in error


@pytest.mark.skipif(not Path("/sys").exists(), reason="v4l2 listing is Linux only")
def test_camera_list_reads_names_from_sysfs(tmp_path: Path) -> None:
    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    for node, name, index in (("video0", "HD Webcam", "0"), ("video1", "HD Webcam", "1")):
        (dev / node).parent.mkdir(parents=True, exist_ok=True)
        (dev / node).touch()
        (sysfs / node).mkdir(parents=True)
        (sysfs / node / "name").write_text(name + "\n")
        (sysfs / node / "index").write_text(index + "\n")
    (dev / "video10").touch()  # no sysfs entry: still listed, named by its node
    cameras = list_cameras(sysfs=sysfs, dev=dev)
    assert [(c.device, c.name, c.backend) for c in cameras] == [
        (str(dev / "video0"), "HD Webcam", "v4l2"),
        (str(dev / "video10"), "video10", "v4l2"),
    ]
    assert list_cameras(sysfs=sysfs, dev=tmp_path / "empty") == []
