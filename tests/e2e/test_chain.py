"""The whole chain, every piece real and in its own process where it would be in a show:

`returnfeed ndi-test` (ndi-python sender) -> `returnfeed --headless --cloud URL --session ID`
(NDI receiver, switcher, x264, SRT caller) -> `returnfeed-cloud` (SRT ingest, relay,
WHEP gateway) -> Chromium: the viewer page (/watch) and a phone page (/tally).

The switcher starts with the test pattern on program and the NDI sender on preview. A cut
through the control API must turn the phone of the camera bound to the NDI source red, and
the viewer must show the NDI sender's picture (its colour and its capture stamp) from the
first frames captured after the cut.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from media.stamp import age_ms, now_ms
from tests.e2e.conftest import NO_KEYRING, RETURNFEED, Printed
from tests.e2e.frames import Shown, start_collecting, take
from tests.support.api import Director, register
from tests.support.browser import phone
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import Proc, wait_until

TOKEN = "e2e-control-token"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    workdir = tmp_path_factory.mktemp("e2e-cloud")
    server = CloudServer(workdir, f"sqlite:///{workdir / 'returnfeed.db'}", RELAXED_RATES)
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[str]:
    name = f"rf-e2e-{uuid.uuid4().hex[:8]}"
    proc = Proc([str(RETURNFEED), "ndi-test", "--name", name], tmp_path / "ndi.log")
    yield name
    assert proc.stop(signal.SIGINT, 10) == 0, proc.tail()  # Ctrl+C: a clean stop


def new_session(backend: CloudServer, director: Director) -> str:
    # Cameras name their source by its label in the switcher: "NDI" and "Bars".
    body = {
        "name": "End to end",
        "cameras": [
            {"number": 1, "name": "Jib", "ndi_source": "NDI"},
            {"number": 2, "name": "Wide", "ndi_source": "Bars"},
        ],
    }
    with backend.client() as http:
        r = http.post("/api/sessions", json=body, headers=director.auth)
        assert r.status_code == 201, r.text
        session_id: str = r.json()["id"]
        return session_id


def director_app(
    backend: CloudServer, director: Director, session_id: str, sender: str, log: Path
) -> Printed:
    argv = [
        str(RETURNFEED),
        "--headless",
        "--cloud",
        backend.base_url,
        f"--session={session_id}",  # "=": an id may start with "-"
        "--source",
        "test:Bars=Bars",
        "--source",
        f"ndi:{sender}=NDI",
        "--ndi-extra-ips",
        "127.0.0.1",
        "--fps",
        "30",
        "--control-port",
        "0",
        "--no-qr",
    ]
    env = {
        **os.environ,
        **NO_KEYRING,
        "RETURNFEED_EMAIL": director.email,
        "RETURNFEED_PASSWORD": director.password,
        "RETURNFEED_CONTROL_TOKEN": TOKEN,
    }
    return Printed(argv, env, log)


def viewer_plays(page: Page, url: str) -> None:
    page.goto(url)
    try:
        page.wait_for_selector("body[data-state='playing']", state="attached", timeout=30_000)
    except PlaywrightTimeout as exc:
        seen = page.evaluate("JSON.stringify(document.body.dataset)")
        raise AssertionError(f"the viewer never played; it shows {seen}") from exc


def frames_until(page: Page, want: int, within: float) -> list[Shown]:
    """Presented frames until `want` of them are NDI-sender frames (or `within` s pass)."""
    seen: list[Shown] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        time.sleep(0.25)
        seen += take(page)
        if sum(f.ndi_sender for f in seen) >= want:
            break
    return seen


def test_ndi_to_viewer_and_phone_through_a_cut(
    backend: CloudServer, sender: str, webrtc_browser: Browser, tmp_path: Path
) -> None:
    with backend.client() as http:
        director = register(http)
    session_id = new_session(backend, director)
    app = director_app(backend, director, session_id, sender, tmp_path / "app.log")
    try:
        control = app.wait_line(r"^Control API: (\S+)", 60)[1]
        phone_url = app.wait_line(r"Phone Cam 1 \(NDI\): (\S+)", 60)[1]
        viewer_url = app.wait_line(r"Viewer: (\S+)", 10)[1]
        app.wait_line(r"^Live: the program goes to srt://", 60)
        api = httpx.Client(base_url=control, headers={"Authorization": f"Bearer {TOKEN}"})

        # Program: the bars; preview: the NDI sender, once its frames arrive.
        r = api.post("/api/program/bars")
        assert r.status_code == 200, r.text
        r = api.post("/api/preview/ndi")
        assert r.status_code == 200, r.text

        viewer_ctx = webrtc_browser.new_context(viewport={"width": 800, "height": 600})
        viewer = viewer_ctx.new_page()
        viewer.set_default_timeout(15_000)
        with phone(webrtc_browser) as (_, phone_page):
            phone_page.goto(phone_url)
            expect(phone_page.locator("body")).to_have_attribute("data-lamp", "preview")

            viewer_plays(viewer, viewer_url)
            # The page copies getStats' framesDecoded into data-frames every 2 s.
            wait_until(lambda: decoded(viewer) > 0, 10, "framesDecoded > 0")
            first = decoded(viewer)
            start_collecting(viewer)
            wait_until(lambda: decoded(viewer) > first, 10, f"framesDecoded > {first}")
            wait_until(lambda: len(take_peek(viewer)) >= 10, 20, "10 presented frames")
            before = take(viewer)
            assert {f.width for f in before} == {640}, before[:3]
            assert all(f.other for f in before), [f.colour for f in before]
            assert any(f.stamp is not None for f in before), "the bars' stamp is unreadable"

            r = api.post("/api/cut")
            cut_ms = now_ms()
            assert r.status_code == 200 and r.json()["state"]["program"] == "ndi", r.text

            expect(phone_page.locator("body")).to_have_attribute("data-lamp", "program")
            after = frames_until(viewer, 20, 20)
        viewer_ctx.close()

        new = [f for f in after if f.ndi_sender]
        assert len(new) >= 20, ("the NDI sender never showed", [f.colour for f in after])
        assert {f.width for f in after} == {640}
        # Every frame captured after the cut was answered is the new source. A frame from
        # before it may still be on its way; the program clock applies a cut at its next
        # frame, so allow a few.
        stale = [f for f in after if f.other and f.stamp is not None and age(f, cut_ms) < 0]
        assert len(stale) <= 3, ("the old source after the cut", len(stale))
        # Once the new source is on screen it stays there.
        first_new = next(i for i, f in enumerate(after) if f.ndi_sender)
        assert not any(f.other for f in after[first_new:]), [f.colour for f in after]
        stamped = [f.stamp for f in new if f.stamp is not None]
        assert len(stamped) >= len(new) // 2, "the NDI sender's stamp is unreadable"
        # The stamp is the sender's capture time: it is live, not a stored picture.
        assert all(-1000 < age_ms(s) < 10_000 for s in stamped), stamped[:5]
    finally:
        rc = app.stop()
    assert rc == 0, app.text()[-3000:]
    assert "Traceback" not in app.text(), app.text()[-3000:]


def age(frame: Shown, cut_ms: int) -> int:
    """How long before the cut the frame was captured (negative: after it)."""
    assert frame.stamp is not None
    return age_ms(frame.stamp, cut_ms)


def decoded(page: Page) -> int:
    return int(page.evaluate("Number(document.body.dataset.frames || 0)"))


def take_peek(page: Page) -> list[object]:
    frames: list[object] = page.evaluate("window.__frames.slice()")
    return frames
