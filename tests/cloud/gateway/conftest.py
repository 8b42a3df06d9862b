"""One backend with SRT ingest on a free port, and one Chromium that allows loopback WebRTC."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from tests.cloud.gateway.helpers import Show, new_show
from tests.support.api import Director, register
from tests.support.browser import webrtc_chromium
from tests.support.cloud import CloudServer, gateway_server


@pytest.fixture(scope="session")
def gw_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path_factory.mktemp("gateway-cloud"))
    yield server
    server.stop()


@pytest.fixture
def srt_port(gw_cloud: CloudServer) -> int:
    assert gw_cloud.srt_port is not None
    return gw_cloud.srt_port


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
    with webrtc_chromium() as browser:
        yield browser
