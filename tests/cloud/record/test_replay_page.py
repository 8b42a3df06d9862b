"""Instant replay on the viewer page and the phones' tally page in headless Chromium: live
over WHEP, back into the recording over HLS (hls.js), scrub, then back to live with WHEP
resuming. The viewer link (auto) replays hi; the camera link (capped at lo, the default)
replays the lo copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.cloud.gateway.helpers import Show, publisher
from tests.cloud.record.support import wait_recordings
from tests.support.api import Director, invite
from tests.support.browser import page_problems, phone, webrtc_chromium
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with webrtc_chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ko-KR", viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = page_problems(page)
    try:
        yield page
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def data(page: Page, key: str) -> str | None:
    value = page.evaluate(f"document.body.dataset.{key} ?? null")
    return None if value is None else str(value)


def state_is(page: Page, state: str) -> None:
    # Not wait_for_function: it evaluates a string, which the page's CSP forbids.
    try:
        page.wait_for_selector(f"body[data-state='{state}']", state="attached", timeout=25_000)
    except PlaywrightTimeout as exc:
        seen = page.evaluate("JSON.stringify(document.body.dataset)")
        raise AssertionError(f"page never reached {state!r}; it shows {seen}") from exc


def video_time(page: Page, element: str = "video") -> float:
    return float(page.evaluate(f"document.getElementById('{element}').currentTime"))


def video_width(page: Page, element: str = "video") -> int:
    return int(page.evaluate(f"document.getElementById('{element}').videoWidth"))


def segments(api: httpx.Client, show: Show) -> int:
    r = api.get(f"/hls/{show.session_id}/index.m3u8", headers=show.viewer_auth)
    return r.text.count(".m4s") if r.status_code == 200 else 0


def test_viewer_scrubs_back_and_returns_to_live(
    rec_cloud: CloudServer, api: httpx.Client, show: Show, tmp_path: Path, page: Page
) -> None:
    assert rec_cloud.srt_port is not None
    page.goto(f"{rec_cloud.base_url}/watch#{show.viewer_invite}")
    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log"):
        state_is(page, "playing")
        wait_until(lambda: segments(api, show) >= 4, 30, "4 recorded segments")
        assert page.inner_text("#replay") == "다시 보기"  # Korean for a ko-KR browser

        page.click("#replay")
        state_is(page, "replay")
        assert page.is_visible("#scrub")
        behind = int(data(page, "replayBehindS") or 0)
        assert behind >= 4, behind  # started back in the recording, not at live
        assert video_width(page) == 640  # a viewer link (auto) replays hi
        at = video_time(page)
        wait_until(lambda: video_time(page) > at + 1, 10, "the replay to play on")

        # Drag the bar to its start: the video goes there and plays on from it.
        start = scrub_to_start(page, "scrub")
        assert video_time(page) - start < 1.0
        wait_until(lambda: video_time(page) > start + 0.5, 10, "playing from the start")

        page.click("#live")
        state_is(page, "playing")
        assert not page.is_visible("#dvr")
        frames = int(data(page, "frames") or 0)
        wait_until(lambda: int(data(page, "frames") or 0) > frames + 30, 15, "WHEP frames")
        status = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth).json()
        assert status["viewers"] == 1  # the replay left the gateway and live joined once


def scrub_to_start(page: Page, scrub: str) -> float:
    """Drags the bar to its start; the window's start, in the video's seconds."""
    page.evaluate(
        """(id) => { const s = document.getElementById(id);
          s.value = s.min; s.dispatchEvent(new Event("input")); }""",
        scrub,
    )
    return float(page.evaluate(f"Number(document.getElementById('{scrub}').min)"))


def test_phone_scrubs_back_under_the_tally_and_returns_to_live(
    rec_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    browser: Browser,
    tmp_path: Path,
) -> None:
    assert rec_cloud.srt_port is not None
    camera = invite(api, director, show.session_id, "camera", camera=1)
    with (
        phone(browser) as (_context, tally),
        publisher(show, rec_cloud.srt_port, tmp_path / "send.log"),
    ):
        tally.goto(camera["url"])
        tally.locator("#btn-video").click()
        program = tally.locator("#program")
        expect(program).to_have_attribute("data-state", "playing", timeout=25_000)
        expect(tally.locator("#replay-bar")).to_be_hidden()
        wait_until(lambda: segments(api, show) >= 4, 30, "4 recorded segments")

        tally.locator("#btn-replay").click()
        expect(program).to_have_attribute("data-state", "replay", timeout=25_000)
        expect(tally.locator("#replay-bar")).to_be_visible()
        assert int(data(tally, "replayBehindS") or 0) >= 4
        assert video_width(tally, "program-video") == 320  # capped at lo: the lo copy
        at = video_time(tally, "program-video")
        wait_until(lambda: video_time(tally, "program-video") > at + 1, 10, "playing on")
        start = scrub_to_start(tally, "replay-scrub")
        assert video_time(tally, "program-video") - start < 1.0

        tally.locator("#btn-live").click()
        expect(program).to_have_attribute("data-state", "playing", timeout=25_000)
        expect(tally.locator("#replay-bar")).to_be_hidden()
        status = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth).json()
        assert status["viewers"] == 1


PLAY_TO_END = """() => new Promise((resolve) => {
  const video = document.getElementById("v");
  video.addEventListener("ended", () => resolve({ duration: video.duration, error: null }));
  video.addEventListener("error", () => resolve({ duration: null, error: video.error.code }));
  video.play();
})"""


def test_the_downloaded_mp4_plays_to_its_end_in_chromium(
    rec_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    browser: Browser,
    tmp_path: Path,
) -> None:
    assert rec_cloud.srt_port is not None
    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log", duration=4) as sender:
        sender.popen.wait(60)
    (rec,) = wait_recordings(api, show.session_id, director, 1, "ended")
    url = f"{rec_cloud.base_url}/api/sessions/{show.session_id}/recordings/{rec['id']}/program.mp4"
    context = browser.new_context(extra_http_headers=director.auth)
    try:
        page = context.new_page()
        ranges: list[str] = []
        page.on("request", lambda r: ranges.append(r.headers.get("range", "")))
        page.set_content(f'<video id="v" muted src="{url}"></video>')
        played = page.evaluate(PLAY_TO_END)
    finally:
        context.close()
    assert played["error"] is None
    assert abs(played["duration"] - rec["duration_s"]) < 0.5
    assert any(r.startswith("bytes=") for r in ranges)  # Chromium's media stack asks by range
