"""One backend with SRT ingest on a free port, and one Chromium that allows loopback WebRTC."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.cloud.gateway.helpers import Show, free_udp_port, new_show
from tests.support.api import Director, register
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.cloud import RELAXED_RATES, CloudServer

WEBRTC_LOOPBACK = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def gw_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    workdir = tmp_path_factory.mktemp("gateway-cloud")
    port = free_udp_port()
    server = CloudServer(
        workdir,
        f"sqlite:///{workdir / 'returnfeed.db'}",
        extra_args=[*RELAXED_RATES, "--srt-port", str(port), "--log-level", "info"],
    )
    server.srt_port = port  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def srt_port(gw_cloud: CloudServer) -> int:
    port: int = gw_cloud.srt_port  # type: ignore[attr-defined]
    return port


@pytest.fixture
def api(gw_cloud: CloudServer) -> Iterator[httpx.Client]:
    with gw_cloud.client() as c:
        yield c


@pytest.fixture
def director(api: httpx.Client) -> Director:
    return register(api)


@pytest.fixture
def show(api: httpx.Client, director: Director) -> Show:
    return new_show(api, director)


@pytest.fixture(scope="module")
def webrtc_browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API runs an event loop on this thread while it lives,
    # and the tests after this module (the relay's) call asyncio.run.
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *WEBRTC_LOOPBACK]
        )
        try:
            yield browser
        finally:
            browser.close()
