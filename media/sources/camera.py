"""Local cameras through PyAV device input: v4l2 (Linux), avfoundation (macOS), dshow (Windows)."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from media.errors import CameraUnavailable
from media.frames import Frame, Size
from media.sources._convert import to_working
from media.sources.base import DEFAULT_SIZE, RetryPolicy, ThreadedSource

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CameraDevice:
    device: str  # what CameraSource takes: "/dev/video0", "0" (avfoundation), "Name" (dshow)
    name: str
    backend: str  # the PyAV/FFmpeg input format


def default_backend() -> str:
    if sys.platform.startswith("linux"):
        return "v4l2"
    if sys.platform == "darwin":
        return "avfoundation"
    if sys.platform == "win32":
        return "dshow"
    raise CameraUnavailable(f"no camera support on {sys.platform}")


_SYSFS = Path("/sys/class/video4linux")


def list_cameras(sysfs: Path = _SYSFS, dev: Path = Path("/dev")) -> list[CameraDevice]:
    """The cameras this machine has; an empty list when there are none."""
    backend = default_backend()
    if backend == "v4l2":
        return _v4l2_devices(sysfs, dev)
    return _ffmpeg_devices(backend)


def _v4l2_devices(sysfs: Path, dev: Path) -> list[CameraDevice]:
    cameras = []
    for node in sorted(dev.glob("video*"), key=lambda p: _number(p.name)):
        info = sysfs / node.name
        # A UVC camera exposes a second node for metadata; only index 0 captures.
        if _read(info / "index", "0") != "0":
            continue
        cameras.append(CameraDevice(str(node), _read(info / "name", node.name), "v4l2"))
    return cameras


def _number(name: str) -> int:
    digits = re.sub(r"\D", "", name)
    return int(digits) if digits else 0


def _read(path: Path, default: str) -> str:
    try:
        return path.read_text().strip() or default
    except OSError:
        return default


def _ffmpeg_devices(backend: str) -> list[CameraDevice]:
    """Ask FFmpeg's device lister, which only logs its answer; best effort."""
    url = "" if backend == "avfoundation" else "video=dummy"
    # The lister always "fails"; the devices are in the log.
    with av.logging.Capture() as logs, contextlib.suppress(av.FFmpegError, OSError):
        av.open(url, format=backend, options={"list_devices": "true"}).close()
    lines = [str(entry[2]) for entry in logs]
    cameras = []
    if backend == "avfoundation":
        in_video = False
        for line in lines:
            if "video devices" in line:
                in_video = True
            elif "audio devices" in line:
                in_video = False
            elif in_video and (m := re.search(r"\[(\d+)\]\s+(.+)", line)):
                cameras.append(CameraDevice(m.group(1), m.group(2).strip(), backend))
    else:
        for line in lines:
            if (m := re.search(r'"([^"]+)"\s+\(video\)', line)) is not None:
                cameras.append(CameraDevice(m.group(1), m.group(1), backend))
    return cameras


def _url(backend: str, device: str) -> str:
    if backend == "dshow" and not device.startswith("video="):
        return f"video={device}"
    return device


class CameraSource(ThreadedSource):
    def __init__(
        self,
        name: str,
        device: str,
        *,
        size: Size = DEFAULT_SIZE,
        fps: int = 30,
        backend: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(name, size=size, retry=retry)
        self.device = device
        self.fps = Fraction(fps)
        self._backend = backend
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] | None = None

    def _open(self) -> None:
        backend = self._backend or default_backend()
        url = _url(backend, self.device)
        wanted = {"framerate": str(self.fps), "video_size": str(self.size)}
        try:
            try:
                container = av.open(url, format=backend, options=wanted)
            except av.FFmpegError:
                # The camera may not offer the size or rate asked for: take its default.
                container = av.open(url, format=backend)
        except (av.FFmpegError, OSError, ValueError) as exc:
            reason = f"camera {self.device!r} ({backend}) unavailable: {exc}"
            raise CameraUnavailable(reason) from exc
        if not container.streams.video:
            container.close()
            raise CameraUnavailable(f"camera {self.device!r} has no video stream")
        self._container = container
        self._frames = container.decode(container.streams.video[0])

    def _read(self) -> Frame | None:
        assert self._frames is not None
        try:
            picture = next(self._frames)
        except StopIteration as exc:
            raise CameraUnavailable(f"camera {self.device!r} stopped") from exc
        except (av.FFmpegError, OSError) as exc:  # unplugged mid-stream
            raise CameraUnavailable(f"camera {self.device!r} failed: {exc}") from exc
        return to_working(picture, self.size)

    def _close(self) -> None:
        container, self._container, self._frames = self._container, None, None
        if container is not None:
            container.close()
