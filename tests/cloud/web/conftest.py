"""One Chromium and one SQLite backend for all the page tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.support.api import Director, register
from tests.support.browser import chromium
from tests.support.cloud import CloudServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module: sync Playwright runs an event loop in this thread until it stops, and
    # asyncio tests collected after these ones could not start theirs while it runs.
    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def web_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """A backend of its own: the relay tests stop and restart it."""
    workdir = tmp_path_factory.mktemp("web-cloud")
    server = CloudServer(workdir, f"sqlite:///{workdir / 'returnfeed.db'}")
    yield server
    server.stop()


@pytest.fixture
def api(web_cloud: CloudServer) -> Iterator[httpx.Client]:
    if not web_cloud.alive():  # a test that stopped it failed before restarting it
        web_cloud.start()
    with web_cloud.client() as c:
        yield c


@pytest.fixture
def director(api: httpx.Client) -> Director:
    return register(api)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = tmp_path / "shots"
    out.mkdir()
    return out
