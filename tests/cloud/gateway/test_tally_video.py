"""The phone tally page's opt-in program video, against real peers: `returnfeed send` ->
SRT -> backend -> WHEP -> the /tally page in Chromium, with the director's tally on the
relay turning the same phone red."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.cloud.gateway.helpers import VIDEO_PROBE, PageVideo, Show, publisher, wait_for
from tests.cloud.web.helpers import director_desk, live_at, new_show, screenshot
from tests.support.api import Director, bearer, invite, redeem
from tests.support.browser import phone
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until

pytest.importorskip("cloud.relay", reason="the relay (cloud/relay) has not landed yet")

RED = "rgb(227, 5, 27)"
# Headless Chromium keeps every page visible: this lets the test hide and show the page as
# a phone does when it is locked or another app comes to the front.
VISIBILITY = """(() => {
  let state = "visible";
  const get = (value) => ({ configurable: true, get: value });
  Object.defineProperty(Document.prototype, "visibilityState", get(() => state));
  Object.defineProperty(Document.prototype, "hidden", get(() => state === "hidden"));
  window.__setVisibility = (next) => {
    state = next;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();"""


def live_show(api: httpx.Client, director: Director) -> tuple[Show, str]:
    """A session whose cameras map to NDI sources (so the relay derives lamps), its SRT
    credentials, a viewer's token to read the gateway's status, and camera 2's phone link."""
    sid, _ = new_show(api, director, camera=2)
    # A link with both layers: these tests choose auto (a camera link is lo only by default,
    # test_quality_by_role_pages.py).
    cam = invite(api, director, sid, "camera", camera=2, quality="auto")
    srt = api.get(f"/api/sessions/{sid}/srt", headers=director.auth).json()
    viewer = invite(api, director, sid, "viewer")
    token = redeem(api, viewer["token"]).json()["participant_token"]
    return Show(sid, srt, token, viewer["token"]), str(cam["url"])


def watchers(api: httpx.Client, show: Show) -> int:
    status: dict[str, Any] = api.get(
        f"/whep/{show.session_id}/status", headers=bearer(show.viewer_token)
    ).json()
    return int(status["viewers"])


def video_state(page: Page, state: str, timeout_ms: float = 25_000) -> None:
    expect(page.locator("#program")).to_have_attribute("data-state", state, timeout=timeout_ms)


@contextmanager
def tally_phone(browser: Browser) -> Iterator[tuple[Page, PageVideo]]:
    with phone(browser) as (context, page):
        context.add_init_script(VIDEO_PROBE)
        context.add_init_script(VISIBILITY)
        yield page, PageVideo(page)


AUDIO_PACKETS = """async () => {
  const pc = window.__rfPcs[window.__rfPcs.length - 1];
  let packets = null;
  if (pc) (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") packets = s.packetsReceived;
  });
  return packets;
}"""


def audio_packets(page: Page) -> int | None:
    """Audio packets the page's newest connection received; None when it has no audio."""
    found = page.evaluate(AUDIO_PACKETS)
    return None if found is None else int(found)


def rejoined(video: PageVideo, before: int) -> bool:
    """A newer connection than the `before`-th decodes the low layer."""
    now = video.poll()
    return now is not None and now.connections > before and now.width == 320 and now.frames > 30


def decodes_low(video: PageVideo) -> None:
    wait_for(lambda: video.decoding(320, 30), 25, video.describe)


def test_program_video_under_the_tally_colour(
    webrtc_browser: Browser,
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    srt_port: int,
    tmp_path: Path,
) -> None:
    show, link = live_show(api, director)
    with (
        tally_phone(webrtc_browser) as (page, video),
        director_desk(gw_cloud, director, show.session_id) as desk,
    ):
        page.goto(link)
        live_at(page, desk.snapshot["seq"], "off")
        expect(page.locator("#program")).to_be_hidden()  # off until the operator asks
        page.locator("#btn-video").click()
        expect(page.locator("#btn-video")).to_have_attribute("aria-pressed", "true")

        # No publisher yet: the box says so, in either language, and the tally goes on.
        video_state(page, "waiting")
        expect(page.locator("#program-state")).to_have_text("Waiting for the program…")
        page.locator("#btn-lang").click()
        expect(page.locator("#program-state")).to_have_text("프로그램을 기다리는 중…")
        page.locator("#btn-lang").click()
        live_at(page, desk.bus(["ndi:CAM1"], ["ndi:CAM2"]), "preview")
        screenshot(page, tmp_path, "tally-video-waiting", review=True)

        with publisher(show, srt_port, tmp_path / "send1.log"):
            video_state(page, "playing")
            decodes_low(video)  # the low layer by default: phones are often on cellular
            assert page.evaluate("document.getElementById('program-video').muted") is True
            # Muted, the phone's offer has no audio: a cellular link pays for the picture only.
            assert audio_packets(page) is None
            # Sound on: the page joins again with audio, and the picture goes on.
            joins = video.poll()
            assert joins is not None
            page.locator("#btn-sound").click()
            wait_until(lambda: (audio_packets(page) or 0) > 20, 15, "audio after unmuting")
            wait_for(lambda: rejoined(video, joins.connections), 15, video.describe)
            assert page.evaluate("document.getElementById('program-video').muted") is False

            # A cut puts this camera on air: the screen is red around the picture.
            on_air = desk.bus(["ndi:CAM2"], ["ndi:CAM1"])
            live_at(page, on_air, "program")
            expect(page.locator("#label")).to_have_text("ON AIR")
            expect(page.locator("#label")).to_be_visible()
            # (expect, not one read: the colour fades in over 80 ms)
            expect(page.locator("body")).to_have_css("background-color", RED)
            expect(page.locator("#program")).to_have_css("border-top-color", RED)
            width = page.evaluate(
                "getComputedStyle(document.getElementById('program')).borderTopWidth"
            )
            assert float(width.removesuffix("px")) >= 12, width
            box = page.locator("#program-video").bounding_box()
            assert box is not None and box["width"] * box["height"] < 0.4 * 390 * 844
            screenshot(page, tmp_path, "tally-video-red", review=True)
            page.set_viewport_size({"width": 844, "height": 390})
            expect(page.locator("#label")).to_be_in_viewport()
            screenshot(page, tmp_path, "tally-video-red-landscape", review=True)
            page.set_viewport_size({"width": 390, "height": 844})
            assert watchers(api, show) == 1

            # Off: the page leaves the gateway at once, and the choice is remembered.
            page.locator("#btn-video").click()
            expect(page.locator("#program")).to_be_hidden()
            wait_until(lambda: watchers(api, show) == 0, 5, "the viewer gone from the status")
            page.reload()
            live_at(page, on_air, "program")
            expect(page.locator("#program")).to_be_hidden()
            page.locator("#btn-video").click()
            video_state(page, "playing")
            decodes_low(video)

        # The publisher went: the box waits, and plays again by itself when it returns.
        video_state(page, "waiting")
        with publisher(show, srt_port, tmp_path / "send2.log"):
            video_state(page, "playing")
            decodes_low(video)
            page.reload()  # on stays on for this phone
            video_state(page, "playing")
            decodes_low(video)


def test_a_hidden_page_leaves_and_rejoins_when_shown(
    webrtc_browser: Browser,
    api: httpx.Client,
    director: Director,
    srt_port: int,
    tmp_path: Path,
) -> None:
    show, link = live_show(api, director)
    with (
        tally_phone(webrtc_browser) as (page, video),
        publisher(show, srt_port, tmp_path / "send.log"),
    ):
        page.goto(link)
        page.locator("#btn-video").click()
        video_state(page, "playing")
        decodes_low(video)
        assert watchers(api, show) == 1

        page.evaluate("window.__setVisibility('hidden')")
        wait_until(lambda: watchers(api, show) == 0, 5, "the hidden page gone from the status")
        page.evaluate("window.__setVisibility('visible')")
        video_state(page, "playing")
        wait_until(lambda: watchers(api, show) == 1, 10, "the shown page watching again")

        # Auto is the operator's choice, sent to the gateway and kept for the next time.
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.post_data or "") if "quality" in r.url else None)
        page.locator("#video-mode").select_option("auto")
        wait_until(lambda: any('"auto"' in body for body in sent), 5, "the mode sent")
        assert page.evaluate("localStorage.getItem('rf.tally.video.mode')") == "auto"
