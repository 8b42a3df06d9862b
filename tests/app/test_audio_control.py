"""Program sound through the control API: each test source's tone follows the cuts, an
input of its own stays live, `afv` switches that, and GET /api/audio says what every
channel is doing (a device that is not there reads lost, with why, and the mix goes on)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.engine.sources import AudioSpec
from app.runtime import Runtime
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config

TOKEN = "audio-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def core() -> Iterator[Runtime]:
    audio = (AudioSpec.parse("tone:Presenter"), AudioSpec.parse("no such device=Mic"))
    rt = Runtime(light_config(2, control_token=TOKEN, audio=audio), vault=MemoryVault())
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture
def api(core: Runtime) -> Iterator[httpx.Client]:
    assert core.control_url is not None
    with httpx.Client(base_url=core.control_url, timeout=5, headers=AUTH) as client:
        yield client


def _audio_until(api: httpx.Client, done: Any, within: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        body: dict[str, Any] = api.get("/api/audio").json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def _peak(body: dict[str, Any], channel: str) -> float:
    return float(max(body["channels"][channel]["peak_dbfs"]))


def test_source_sound_follows_the_cut_and_an_input_stays_live(api: httpx.Client) -> None:
    state = api.get("/api/state").json()
    assert state["program"] == "test-1"
    audio = state["audio"]
    assert audio["test-1"]["follow_video"] == "test-1"  # a source's own sound follows it
    assert audio["test-2"]["follow_video"] == "test-2"
    assert audio["presenter"]["follow_video"] is None  # an input of its own: always live

    body = _audio_until(api, lambda b: _peak(b, "test-1") > -21 and _peak(b, "presenter") > -21)
    assert _peak(body, "test-1") == pytest.approx(-20.0, abs=0.5)  # on air: heard
    assert _peak(body, "test-2") < -90  # not on air: silent
    assert body["program"]["loudness_lufs"] > -30

    assert api.post("/api/cut").status_code == 200
    body = _audio_until(api, lambda b: _peak(b, "test-2") > -21 and _peak(b, "test-1") < -90)
    assert _peak(body, "test-2") == pytest.approx(-20.0, abs=0.5)
    assert _peak(body, "test-1") < -90

    # afv on the presenter's mic, following test-1 (now off air): the mic goes quiet.
    r = api.post("/api/audio/presenter", json={"afv": "test-1"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["audio"]["presenter"]["follow_video"] == "test-1"
    body = _audio_until(api, lambda b: _peak(b, "presenter") < -90)
    assert _peak(body, "presenter") < -90
    # afv false: always live again; afv true on a source's channel: follows its own source.
    assert api.post("/api/audio/presenter", json={"afv": False}).status_code == 200
    r = api.post("/api/audio/test-1", json={"afv": False})
    assert r.json()["state"]["audio"]["test-1"]["follow_video"] is None
    r = api.post("/api/audio/test-1", json={"afv": True})
    assert r.json()["state"]["audio"]["test-1"]["follow_video"] == "test-1"
    body = _audio_until(api, lambda b: _peak(b, "presenter") > -21)
    assert _peak(body, "presenter") == pytest.approx(-20.0, abs=0.5)


def test_a_missing_device_reads_lost_and_the_mix_goes_on(api: httpx.Client) -> None:
    body = _audio_until(api, lambda b: b["channels"]["mic"]["state"] == "lost")
    mic = body["channels"]["mic"]
    assert mic["state"] == "lost"
    assert "audio input device" in mic["error"]  # none at all here, or not that one
    assert body["channels"]["presenter"]["state"] == "live"
    body = _audio_until(api, lambda b: float(max(b["program"]["peak_dbfs"])) > -20)
    assert float(max(body["program"]["peak_dbfs"])) > -20  # two tones, summed and limited
    assert float(max(body["program"]["peak_dbfs"])) < 0


@pytest.mark.parametrize(
    ("channel", "body", "status", "code"),
    [
        ("presenter", {"afv": True}, 400, "bad_request"),  # not a source's sound
        ("presenter", {"afv": 3}, 400, "bad_request"),
        ("presenter", {"afv": "nobody"}, 404, "unknown_source"),
        ("nobody", {"afv": False}, 404, "unknown_channel"),
    ],
)
def test_bad_afv_is_a_clear_error(
    api: httpx.Client, channel: str, body: dict[str, Any], status: int, code: str
) -> None:
    r = api.post(f"/api/audio/{channel}", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert api.get("/api/state").status_code == 200  # and the API is still there


def test_audio_levels_need_the_token(core: Runtime) -> None:
    assert core.control_url is not None
    assert httpx.get(core.control_url + "/api/audio", timeout=5).status_code == 401


def test_an_input_named_like_a_new_source_gives_way_to_its_sound() -> None:
    from app.engine.media import MediaShow
    from app.engine.sources import SourceSpec
    from media.switcher import SwitcherState
    from tests.app.core_config import LIGHT_MEDIA

    show = MediaShow(SwitcherState, LIGHT_MEDIA, (SourceSpec("test", "Bars"),), ())  # not started
    show.replace_audio((AudioSpec.parse("tone:Cam"),))
    assert list(show.audio_inputs) == ["cam"]
    presenter = show.mixer.source("cam")
    show.replace_sources((SourceSpec("test", "Bars"), SourceSpec("test", "Cam")))
    # The new source's own sound has its name; the input lives on, renamed, not lost.
    camera = show.sources["cam"]
    assert show.mixer.source("cam") is getattr(camera, "audio", None)
    assert list(show.audio_inputs) == ["cam-2"]
    renamed = show.mixer.source("cam-2")
    assert renamed is not None and renamed is not presenter  # rebuilt under its new name
    command = show.audio_channels()
    assert set(command.channels) == {"bars", "cam", "cam-2"}
    assert dict(command.follow) == {"bars": "bars", "cam": "cam"}
    # A show that was never started runs nothing, not even the source just added.
    running = [t.name for t in threading.enumerate() if t.name.startswith("source:")]
    assert running == [], running
