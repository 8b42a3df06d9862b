"""The viewer page's delay figure says what it measures, in Chromium, with the real chain:
`returnfeed send` -> SRT -> backend -> WHEP -> /watch.

The figure is Chromium's jitter-buffer delay plus half the round trip: the part of the
delay between the server and this screen. The page cannot see the cameras -> switcher ->
server part (the gateway's sender reports put its own send time on the PTS line), so it
must not call the figure the viewer's latency. Checked: the label and its explanation in
English and Korean, and that the number is the one WebRTC's own stats give for that hop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.cloud.gateway.helpers import Show, new_show, publisher
from tests.support.api import register
from tests.support.browser import KEEP_PEER_CONNECTIONS, webrtc_chromium
from tests.support.cloud import CloudServer, gateway_server
from tests.support.procs import wait_until

# The same figure from the page's own peer connection, for comparison.
SERVER_DELAY = """async () => {
  const pc = window.__pcs.filter((p) => p.connectionState === "connected").pop();
  let v = null, pair = null;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") v = s;
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
  });
  const buffer = v.jitterBufferDelay / v.jitterBufferEmittedCount;
  const rtt = (pair && pair.currentRoundTripTime) || 0;
  return (buffer + rtt / 2) * 1000;
}"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path_factory.mktemp("delay-label-cloud"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def webrtc_browser() -> Iterator[Browser]:
    with webrtc_chromium() as browser:
        yield browser


@pytest.fixture
def show(cloud: CloudServer, tmp_path: Path) -> Iterator[Show]:
    with cloud.client() as api:
        show = new_show(api, register(api))
    assert cloud.srt_port is not None
    with publisher(show, cloud.srt_port, tmp_path / "send.log", layers="hi"):
        yield show


def watch(browser: Browser, cloud: CloudServer, show: Show, locale: str) -> Page:
    context = browser.new_context(locale=locale, bypass_csp=True)
    context.set_default_timeout(30_000)
    context.add_init_script(KEEP_PEER_CONNECTIONS)
    page = context.new_page()
    page.goto(f"{cloud.base_url}/watch#{show.viewer_invite}")
    page.wait_for_selector("body[data-state='playing']", state="attached")
    wait_until(
        lambda: int(page.evaluate("Number(document.body.dataset.frames || 0)")) > 30,
        20,
        "30 frames played",
    )
    return page


@pytest.mark.parametrize(
    ("locale", "label", "explains"),
    [
        ("en-US", "from the server", "The delay from the cameras to the server is not included"),
        ("ko-KR", "서버에서", "카메라에서 서버까지의 지연은 포함되지 않습니다"),
    ],
)
def test_the_delay_figure_is_labelled_for_what_it_measures(
    webrtc_browser: Browser, cloud: CloudServer, show: Show, locale: str, label: str, explains: str
) -> None:
    page = watch(webrtc_browser, cloud, show, locale)
    try:
        readout = page.locator("#readout")
        text = readout.inner_text()
        match = re.search(rf"{label} ~(\d+) ms", text)
        assert match, text
        assert "latency" not in text and "지연 ~" not in text, text
        assert explains in (readout.get_attribute("title") or "")
        shown = int(match.group(1))
        assert shown == int(page.evaluate("Number(document.body.dataset.serverDelayMs)"))
        # The number is this hop's: Chromium's jitter buffer and half the round trip. Both
        # are read a moment apart and the buffer figure is an average since the start, so
        # they agree closely; a figure that included the encoder or SRT would not.
        measured = float(page.evaluate(SERVER_DELAY))
        assert abs(shown - measured) <= 25, (shown, measured)
    finally:
        page.context.close()
