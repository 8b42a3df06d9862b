"""Quality by role on the pages, in Chromium with the real chain (`returnfeed send` -> SRT ->
backend -> WHEP): a lo-only link's viewer page and phone tally page offer low only, show
the other choices off with the reason in English and Korean, and decode the low layer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.cloud.gateway.helpers import VIDEO_PROBE, PageVideo, Show, on_air, wait_for
from tests.cloud.web.helpers import new_show
from tests.support.api import Director, invite
from tests.support.browser import phone
from tests.support.cloud import CloudServer

LO_ONLY_EN = "This link includes low quality only (the director's choice)."
LO_ONLY_KO = "이 링크는 저화질만 볼 수 있습니다 (감독의 설정)."


@contextmanager
def viewer_page(browser: Browser, url: str, locale: str) -> Iterator[tuple[Page, PageVideo]]:
    """The /watch page in a fresh context, sampled by VIDEO_PROBE; script errors fail."""
    context = browser.new_context(locale=locale, viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    context.add_init_script(VIDEO_PROBE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.goto(url)
    try:
        yield page, PageVideo(page)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def only_low(video: PageVideo) -> list[int]:
    """Every width the page decoded (0: nothing yet)."""
    video.poll()
    return sorted({s.width for s in video.samples if s.frames})


def test_a_lo_only_viewer_page_offers_low_only_and_says_why(
    webrtc_browser: Browser,
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    srt_port: int,
    tmp_path: Path,
) -> None:
    lo_link = invite(api, director, show.session_id, "viewer", quality="lo")["url"]
    # Before the program is on air the page already knows: the gateway's status says it.
    with viewer_page(webrtc_browser, lo_link, "ko-KR") as (page, _):
        expect(page.locator("#quality option[value='high']")).to_have_text(
            "고화질: 이 링크에 포함되지 않음"
        )
        expect(page.locator("#quality-note")).to_have_text(LO_ONLY_KO)
    # The show's own link is auto: both choices there.
    auto_link = f"{gw_cloud.base_url}/watch#{show.viewer_invite}"
    with viewer_page(webrtc_browser, auto_link, "en-US") as (page, _):
        expect(page.locator("body")).to_have_attribute("data-ceiling", "auto")
        expect(page.locator("#quality option[value='high']")).to_be_enabled()
        expect(page.locator("#quality option[value='high']")).to_have_text("High")

    with (
        on_air(api, show, srt_port, tmp_path),
        viewer_page(webrtc_browser, lo_link, "en-US") as (page, video),
    ):
        high = page.locator("#quality option[value='high']")
        expect(high).to_have_text("High: not included in this link")
        expect(high).to_be_disabled()
        expect(page.locator("#quality option[value='auto']")).to_be_disabled()
        expect(page.locator("#quality")).to_have_value("low")
        expect(page.locator("#quality")).to_have_attribute("title", LO_ONLY_EN)
        expect(page.locator("#quality-note")).to_have_text(LO_ONLY_EN)
        wait_for(lambda: video.decoding(320, 60), 25, video.describe)
        expect(page.locator("body")).to_have_attribute("data-layer", "lo")
        assert only_low(video) == [320], video.describe()


def test_a_camera_phone_watches_low_by_its_links_default_whatever_it_chose_before(
    webrtc_browser: Browser,
    api: httpx.Client,
    director: Director,
    srt_port: int,
    tmp_path: Path,
) -> None:
    sid, cam = new_show(api, director)  # the session's default for camera links: lo only
    assert cam["quality"] == "lo"
    srt = api.get(f"/api/sessions/{sid}/srt", headers=director.auth).json()
    viewer = invite(api, director, sid, "viewer")
    token = api.post("/api/invites/redeem", json={"token": viewer["token"]}).json()
    show = Show(sid, srt, token["participant_token"], viewer["token"])
    offers: list[str] = []
    with phone(webrtc_browser) as (context, page):
        context.add_init_script(VIDEO_PROBE)
        # This phone chose auto quality on an earlier show: the link still holds it to low.
        context.add_init_script("localStorage.setItem('rf.tally.video.mode', 'auto')")
        page.on(
            "request",
            lambda r: offers.append(r.url) if r.method == "POST" and "/whep/" in r.url else None,
        )
        page.goto(str(cam["url"]))
        page.locator("#btn-video").click()
        auto = page.locator("#video-mode option[value='auto']")
        expect(auto).to_have_text("Auto quality: not included in this link")
        expect(auto).to_be_disabled()
        expect(page.locator("#video-mode")).to_have_value("low")
        page.locator("#btn-lang").click()
        expect(auto).to_have_text("자동 화질: 이 링크에 포함되지 않음")
        expect(page.locator("#video-mode")).to_have_attribute("title", LO_ONLY_KO)
        video = PageVideo(page)
        with on_air(api, show, srt_port, tmp_path):
            wait_for(lambda: video.decoding(320, 30), 25, video.describe)
            assert only_low(video) == [320], video.describe()
    whep = [url for url in offers if "/quality" not in url]
    assert whep and all(url.endswith("?mode=low") for url in whep), offers
