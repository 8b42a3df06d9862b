"""NDI sources via ndi-python: discovery, a receiver (proxy or full bandwidth), tally, sound.

The sound comes from the same capture loop as the pictures and goes to `source.audio`
(media/audio/source_audio.py), which keeps it in step with the picture by the NDI
timestamps both carry: the audio frame's work on this thread is one transpose, the
conversion to 48 kHz stereo and a copy into a ring.

NDI's runtime is process-wide and reads its configuration once, when it starts:
a discovery server (or extra IPs) given by file must be set before the first
NDI call. `start_ndi` does that by writing an ndi-config.v1.json into a private
directory and pointing NDI_CONFIG_DIR at it, merged over the user's own file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import numpy as np

from media.audio.source_audio import SourceAudio
from media.errors import NdiUnavailable
from media.frames import Frame, Size, new_buffer, scale_to_fit
from media.sources.base import DEFAULT_SIZE, RetryPolicy, ThreadedSource

log = logging.getLogger(__name__)

_CAPTURE_TIMEOUT_MS = 100
_FIND_TIMEOUT = 0.5
_TIMESTAMP_UNDEFINED = 2**63 - 1  # NDIlib_recv_timestamp_undefined: an old sender


@dataclass(frozen=True, slots=True)
class NdiConfig:
    extra_ips: tuple[str, ...] = ()  # machines to ask directly (no mDNS needed)
    discovery_server: str | None = None  # "host" or "host:port", comma-separated for several
    groups: str | None = None
    show_local_sources: bool = True
    # Receive the sender's full stream rather than its proxy (a low-resolution, low-rate
    # copy made for multiviewers): costs network and decoding, worth it for a program feed.
    highest_bandwidth: bool = False


@dataclass(frozen=True, slots=True)
class NdiSourceInfo:
    name: str  # the full NDI name, "MACHINE (Source)"
    url: str


class _Runtime:
    """The one NDI runtime of the process, started once and never torn down."""

    lock = threading.Lock()
    module: ModuleType | None = None
    discovery: str | None = None


def start_ndi(config: NdiConfig | None = None) -> ModuleType:
    """The started NDIlib module; a discovery server only takes effect on the first call."""
    discovery = config.discovery_server if config else None
    with _Runtime.lock:
        if _Runtime.module is None:
            if discovery:
                os.environ["NDI_CONFIG_DIR"] = str(write_ndi_config(discovery))
            try:
                import NDIlib
            except ImportError as exc:
                raise NdiUnavailable(f"ndi-python is not installed: {exc}") from exc
            if not NDIlib.initialize():
                raise NdiUnavailable("the NDI runtime did not start (unsupported CPU?)")
            _Runtime.module, _Runtime.discovery = NDIlib, discovery
        elif discovery and discovery != _Runtime.discovery:
            log.warning(
                "NDI already started with discovery server %r; %r applies after a restart",
                _Runtime.discovery,
                discovery,
            )
        return _Runtime.module


def write_ndi_config(discovery: str | None, extra_ips: tuple[str, ...] = ()) -> Path:
    """A private NDI config directory: the user's settings plus these networks."""
    base: dict[str, Any] = {}
    own_dir = os.environ.get("NDI_CONFIG_DIR") or str(Path.home() / ".ndi")
    own = Path(own_dir) / "ndi-config.v1.json"
    try:
        base = json.loads(own.read_text())
    except (OSError, ValueError):
        base = {}
    networks = base.setdefault("ndi", {}).setdefault("networks", {})
    if discovery:
        networks["discovery"] = discovery
    if extra_ips:
        networks["ips"] = ",".join(extra_ips)
    directory = Path(tempfile.mkdtemp(prefix="returnfeed-ndi-"))
    (directory / "ndi-config.v1.json").write_text(json.dumps(base, indent=2))
    return directory


class NdiFinder:
    """An NDI finder; close() it (or use `with`)."""

    def __init__(self, config: NdiConfig) -> None:
        self._ndi = start_ndi(config)
        settings = self._ndi.FindCreate(
            show_local_sources=config.show_local_sources,
            p_groups=config.groups,
            p_extra_ips=",".join(config.extra_ips) or None,
        )
        self._finder = self._ndi.find_create_v2(settings)
        if self._finder is None:
            raise NdiUnavailable("cannot create an NDI finder")
        self._raw: dict[str, Any] = {}

    def sources(self, wait: float = 0.0) -> list[NdiSourceInfo]:
        deadline = time.monotonic() + wait
        while True:
            found = self._ndi.find_get_current_sources(self._finder)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                break
            self._ndi.find_wait_for_sources(self._finder, max(1, int(remaining * 1000)))
        self._raw = {s.ndi_name: s for s in found}
        return [NdiSourceInfo(s.ndi_name, s.url_address or "") for s in found]

    def find(self, name: str, wait: float) -> Any | None:
        """The SDK source object whose name is `name` or "MACHINE (name)", or None."""
        deadline = time.monotonic() + wait
        while True:
            for info in self.sources():
                if matches(info.name, name):
                    return self._raw[info.name]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._ndi.find_wait_for_sources(self._finder, max(1, int(min(remaining, 0.1) * 1000)))

    def close(self) -> None:
        finder, self._finder = self._finder, None
        if finder is not None:
            self._ndi.find_destroy(finder)

    def __enter__(self) -> NdiFinder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def matches(full_name: str, wanted: str) -> bool:
    return full_name == wanted or full_name.endswith(f"({wanted})")


def list_ndi_sources(config: NdiConfig | None = None, timeout: float = 1.0) -> list[NdiSourceInfo]:
    """The NDI sources seen within `timeout` (mDNS, extra IPs and discovery server)."""
    with NdiFinder(config or NdiConfig()) as finder:
        deadline = time.monotonic() + timeout
        found = finder.sources(wait=timeout)
        # Discovery trickles in; keep listening for the rest of the window.
        while time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            found = finder.sources()
        return sorted(found, key=lambda s: s.name)


class NdiSource(ThreadedSource):
    """Receives one NDI source at proxy bandwidth (or full, by the config or the argument),
    with tally back to it."""

    def __init__(
        self,
        name: str,
        ndi_name: str | None = None,
        *,
        config: NdiConfig | None = None,
        size: Size = DEFAULT_SIZE,
        retry: RetryPolicy | None = None,
        highest_bandwidth: bool | None = None,
    ) -> None:
        super().__init__(name, size=size, retry=retry)
        self.ndi_name = ndi_name or name
        self._config = config or NdiConfig()
        self._highest = (
            self._config.highest_bandwidth if highest_bandwidth is None else highest_bandwidth
        )
        self._finder: NdiFinder | None = None
        self._receiver: Any = None
        self._receiver_lock = threading.Lock()  # tally comes from another thread
        self._tally = (False, False)
        self._misses = 0
        self.audio = SourceAudio(name, lambda: self.status)

    @property
    def highest_bandwidth(self) -> bool:
        """Whether the receiver asks for the full stream (else the proxy)."""
        return self._highest

    @property
    def config(self) -> NdiConfig:
        return self._config

    def set_tally(self, program: bool, preview: bool) -> None:
        """Light the sender's tally; kept and re-sent after every reconnect."""
        self._tally = (program, preview)
        with self._receiver_lock:
            if self._receiver is not None:
                self._send_tally()

    def _send_tally(self) -> None:
        ndi = start_ndi(self._config)
        ndi.recv_set_tally(self._receiver, ndi.Tally(*self._tally))

    def _open(self) -> None:
        ndi = start_ndi(self._config)
        # A finder that has watched a source vanish can take seconds to see it
        # return; a fresh one sees it at once. So renew it after a few misses.
        if self._finder is None or self._misses >= 3:
            if self._finder is not None:
                self._finder.close()
            self._finder, self._misses = NdiFinder(self._config), 0
        source = self._finder.find(self.ndi_name, _FIND_TIMEOUT)
        if source is None:
            self._misses += 1
            raise NdiUnavailable(f"NDI source {self.ndi_name!r} not found")
        bandwidth = ndi.RECV_BANDWIDTH_HIGHEST if self._highest else ndi.RECV_BANDWIDTH_LOWEST
        settings = ndi.RecvCreateV3(
            source_to_connect_to=source,
            color_format=ndi.RECV_COLOR_FORMAT_UYVY_BGRA,
            bandwidth=bandwidth,
            allow_video_fields=False,
            p_ndi_recv_name=f"ReturnFeed ({self.name})",
        )
        receiver = ndi.recv_create_v3(settings)
        if receiver is None:
            raise NdiUnavailable(f"cannot create an NDI receiver for {self.ndi_name!r}")
        with self._receiver_lock:
            self._receiver = receiver
            self._send_tally()
        self.audio.reset()

    def _read(self) -> Frame | None:
        ndi = start_ndi(self._config)
        kind, video, audio, _meta = ndi.recv_capture_v2(
            self._receiver, _CAPTURE_TIMEOUT_MS, True, True, False
        )
        if kind == ndi.FRAME_TYPE_AUDIO:
            self._take_audio(ndi, audio)
            return None
        if kind != ndi.FRAME_TYPE_VIDEO:
            return None
        try:
            frame = self._convert(ndi, video)
            self.audio.video_frame(_time(video.timestamp))
        finally:
            ndi.recv_free_video_v2(self._receiver, video)
        # NDI may hand over a picture before the sound sent with it; take what sound is
        # waiting now, so a tick that shows this picture finds its audio in the ring.
        while True:
            kind, _video, audio, _meta = ndi.recv_capture_v2(self._receiver, 0, False, True, False)
            if kind != ndi.FRAME_TYPE_AUDIO:
                return frame
            self._take_audio(ndi, audio)

    def _take_audio(self, ndi: ModuleType, audio: Any) -> None:
        try:
            # Planar (channels, samples) to interleaved is a view; the ring copies.
            samples = np.asarray(audio.data, np.float32).T
            self.audio.push(samples, int(audio.sample_rate), _time(audio.timestamp))
        finally:
            ndi.recv_free_audio_v2(self._receiver, audio)

    def _convert(self, ndi: ModuleType, video: Any) -> Frame:
        data = np.asarray(video.data)
        width, height = int(video.xres) & ~1, int(video.yres) & ~1
        if video.FourCC == ndi.FOURCC_VIDEO_TYPE_UYVY:
            frame = Frame(uyvy_to_i420(data[:height, :width]))
        else:  # BGRA / BGRX: the only other format this colour mode delivers
            rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(data[:height, :width]), "bgra")
            frame = Frame.from_av(rgb)
        return scale_to_fit(frame, self.size)

    def _close(self) -> None:
        with self._receiver_lock:
            receiver, self._receiver = self._receiver, None
        if receiver is not None:
            start_ndi(self._config).recv_destroy(receiver)
        self.audio.reset()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        if self._finder is not None:
            self._finder.close()
            self._finder = None


def _time(timestamp: int) -> int | None:
    """An NDI timestamp (100 ns), or None where the sender left it out."""
    value = int(timestamp)
    return None if value in (0, _TIMESTAMP_UNDEFINED) else value


def uyvy_to_i420(uyvy: np.ndarray) -> np.ndarray:
    """Packed 4:2:2 (h, w, 2) to an I420 buffer, by slicing (chroma: even rows)."""
    height, width = uyvy.shape[0], uyvy.shape[1]
    out = new_buffer(Size(width, height))
    out[:height] = uyvy[:, :, 1]
    quarter = (height // 2) * (width // 2)
    flat = out.reshape(-1)
    base = width * height
    flat[base : base + quarter].reshape(height // 2, width // 2)[:] = uyvy[0::2, 0::2, 0]
    flat[base + quarter :].reshape(height // 2, width // 2)[:] = uyvy[0::2, 1::2, 0]
    return out
