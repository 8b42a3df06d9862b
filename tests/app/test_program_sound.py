"""The director's program sound reaches a remote viewer: an NDI camera's own sound with
audio-follow-video, a presenter's microphone always live, and a cut that swaps them.

Real peers throughout: an ndi-python sender with a 1 kHz tone is the NDI camera; a
PulseAudio null sink with a 3 kHz tone played into it is the microphone (PortAudio reads
it through ALSA's pulse plugin); `returnfeed-cloud` is the backend and gateway; the viewer
is aiortc over WHEP, decoding the Opus it gets. What the viewer hears is told apart by
pitch: NDI 1 kHz, microphone 3 kHz, the second test source 880 Hz (440 Hz x its position).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine.commands import Cut, SetPreview
from app.engine.media import MediaConfig
from app.engine.sources import AudioSpec, SourceSpec
from media.ndi_test_sender import NdiTestSender
from media.sources.ndi import NdiConfig
from tests.app.core_config import LIGHT_MEDIA
from tests.app.live import director_runtime, wait_status
from tests.cloud.gateway.helpers import run_async, watch_with_aiortc
from tests.cloud.relay.peers import Show
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer
from tests.support.pulse import PulseServer, write_tone

NDI_HZ, MIC_HZ, TEST2_HZ = 1000.0, 3000.0, 880.0
HEARD_DBFS, QUIET_DBFS = -40.0, -60.0
LOOPBACK = NdiConfig(extra_ips=("127.0.0.1",))


@dataclass
class Heard:
    """Decoded audio as it arrived: (monotonic time, mono samples at 48 kHz)."""

    blocks: list[tuple[float, np.ndarray]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def since(self, t0: float, seconds: float) -> np.ndarray:
        with self.lock:
            parts = [b for t, b in self.blocks if t >= t0]
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return samples[: int(seconds * 48_000)]


def level_at(samples: np.ndarray, hz: float) -> float:
    """A sine's peak level in dBFS at `hz` (Hann window, amplitude-corrected)."""
    window = np.hanning(samples.shape[0])
    spectrum = np.abs(np.fft.rfft(samples * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / 48_000)
    near = np.abs(freqs - hz) <= 8
    return float(20 * np.log10(max(spectrum[near].max(), 1e-9)))


def listen(base_url: str, session_id: str, token: str, heard: Heard, stop: threading.Event) -> None:
    def on_audio(frame: Any) -> None:
        pcm = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
        mono = pcm.astype(np.float32).mean(axis=1) / 32768.0
        with heard.lock:
            heard.blocks.append((time.monotonic(), mono))

    watched = run_async(
        watch_with_aiortc(base_url, session_id, token, 120.0, on_audio=on_audio, stop=stop)
    )
    assert watched.status == 201, watched


@pytest.fixture
def microphone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """A PulseAudio server whose only source hears a 3 kHz tone: the presenter's mic."""
    pulse = PulseServer(sinks=["sink_name=rf_mic"])
    if not pulse.start():
        pytest.skip("Debian's pulseaudio is not installed")
    # The ALSA pulse plugin that PortAudio goes through reads these at each stream open.
    monkeypatch.setenv("PULSE_SERVER", pulse.address)
    monkeypatch.setenv("XDG_RUNTIME_DIR", pulse.runtime)
    tone = write_tone(tmp_path / "mic.f32", MIC_HZ, 48_000, 120.0, 0.1)  # -20 dBFS
    player = pulse.play("rf_mic", tone, 48_000)
    try:
        yield pulse
    finally:
        player.kill()
        player.wait(5)
        pulse.close()


@pytest.fixture
def ndi_camera() -> Iterator[NdiTestSender]:
    sender = NdiTestSender(f"rf-cam-{uuid.uuid4().hex[:8]}", config=LOOPBACK, tone_hz=NDI_HZ)
    sender.start()
    try:
        yield sender
    finally:
        sender.stop()


def heard_after(heard: Heard, seconds: float = 1.0, settle: float = 1.0) -> np.ndarray:
    """What the viewer hears in `seconds`, from `settle` s on (the cut's way through)."""
    t0 = time.monotonic() + settle
    deadline = t0 + seconds + 10
    while time.monotonic() < deadline:
        samples = heard.since(t0, seconds)
        if samples.shape[0] >= int(seconds * 48_000):
            return samples
        time.sleep(0.05)
    raise AssertionError(f"the viewer heard {heard.since(t0, seconds).shape[0]} samples")


def test_a_viewer_hears_the_ndi_cameras_sound_and_the_mic_and_a_cut_swaps_them(
    server: CloudServer, microphone: PulseServer, ndi_camera: NdiTestSender
) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Sound show", cameras=2)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    sources = (SourceSpec("ndi", ndi_camera.name, "Cam"), SourceSpec("test", "Bars"))
    audio = (AudioSpec.parse("pulse=Mic"),)
    media = MediaConfig(LIGHT_MEDIA.size, LIGHT_MEDIA.fps, LOOPBACK)
    with director_runtime(
        server, director, session["id"], sources=sources, audio=audio, media=media
    ) as (rt, _seen):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            statuses = rt.audio_statuses()
            if all(s.state.value == "live" for s in statuses.values()) and len(statuses) == 3:
                break
            time.sleep(0.1)
        statuses = rt.audio_statuses()
        assert {n: s.state.value for n, s in statuses.items()} == {
            "cam": "live",
            "bars": "live",
            "mic": "live",
        }, statuses
        state = rt.state
        assert state.program == "cam"
        assert state.audio["cam"].follow_video == "cam"  # the camera's own sound follows it
        assert state.audio["mic"].follow_video is None  # the presenter's mic: always live

        rt.call(lambda link: link.go_live()).result(20)
        assert wait_status(server, show, viewer, True, 10, ["hi", "lo"])["live"] is True
        heard, stop = Heard(), threading.Event()
        ear = threading.Thread(
            target=listen, args=(server.base_url, show.session_id, viewer, heard, stop)
        )
        ear.start()
        try:
            on_cam = heard_after(heard, settle=2.0)
            assert level_at(on_cam, NDI_HZ) > HEARD_DBFS  # the camera on air: its sound
            assert level_at(on_cam, MIC_HZ) > HEARD_DBFS  # and the mic
            assert level_at(on_cam, TEST2_HZ) < QUIET_DBFS  # the other source: not heard

            rt.submit(SetPreview("bars")).result(5)
            rt.submit(Cut()).result(5)
            on_bars = heard_after(heard)
            assert level_at(on_bars, TEST2_HZ) > HEARD_DBFS  # the cut brought its sound
            assert level_at(on_bars, MIC_HZ) > HEARD_DBFS  # the mic stayed
            assert level_at(on_bars, NDI_HZ) < QUIET_DBFS  # the camera's went with it
        finally:
            stop.set()
            ear.join(15)
