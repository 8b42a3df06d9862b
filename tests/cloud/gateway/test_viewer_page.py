"""Headless Chromium on the viewer page: `returnfeed send` -> SRT -> backend -> WHEP -> page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.cloud.gateway.helpers import Show, publisher
from tests.support.browser import KEEP_PEER_CONNECTIONS, page_problems
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until

PLAYOUT_DELAY = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
# The header extensions negotiated for the live video receiver, as Chromium applied them.
VIDEO_EXTENSIONS = """() => {
  const pc = window.__pcs.filter((p) => p.connectionState === "connected").pop();
  const receiver = pc.getReceivers().find((r) => r.track.kind === "video");
  return receiver.getParameters().headerExtensions.map((e) => e.uri);
}"""


@pytest.fixture
def page(webrtc_browser: Browser) -> Iterator[Page]:
    context = webrtc_browser.new_context(locale="ko-KR", viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = page_problems(page)
    try:
        yield page
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def number(page: Page, key: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{key} || 0)"))


def state_is(page: Page, state: str, timeout_ms: float = 25_000) -> None:
    # Not wait_for_function: it evaluates a string, which the page's CSP forbids.
    try:
        page.wait_for_selector(f"body[data-state='{state}']", state="attached", timeout=timeout_ms)
    except PlaywrightTimeout as exc:
        seen = page.evaluate("JSON.stringify(document.body.dataset)")
        raise AssertionError(f"page never reached {state!r}; it shows {seen}") from exc


def more_than(page: Page, key: str, n: int, timeout: float = 20) -> None:
    wait_until(lambda: number(page, key) > n, timeout, f"{key} > {n}")


def test_page_plays_video_and_audio_and_survives_a_publisher_restart(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path, page: Page
) -> None:
    page.add_init_script(KEEP_PEER_CONNECTIONS)
    page.goto(f"{gw_cloud.base_url}/watch#{show.viewer_invite}")
    state_is(page, "waiting")
    assert "기다리는" in page.inner_text("#message")  # Korean for a ko-KR browser

    with publisher(show, srt_port, tmp_path / "send1.log"):
        state_is(page, "playing")
        more_than(page, "frames", 30)
        more_than(page, "audioPackets", 20)
        assert page.evaluate("document.body.dataset.layer") == "hi"
        frames_before = number(page, "frames")
        # Chromium took the playout-delay extension the gateway answered with (its own
        # offer's id), so it shows each frame as soon as it is decoded.
        uris = page.evaluate(VIDEO_EXTENSIONS)
        assert PLAYOUT_DELAY in uris, uris

    # The publisher is gone: the page says so, without a reload.
    state_is(page, "waiting")
    with publisher(show, srt_port, tmp_path / "send2.log"):
        state_is(page, "playing")
        more_than(page, "frames", frames_before + 30)

    # The page's quality override reaches the server and the low layer comes.
    # (checked in test_whep_api at the API level; here only that the readout exists)
    assert "kbps" in page.inner_text("#readout")
