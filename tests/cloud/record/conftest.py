"""One backend with SRT ingest and recording (module scope: each test makes its own show)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.cloud.gateway.helpers import Show, new_show
from tests.support.api import Director, register
from tests.support.cloud import CloudServer, gateway_server


@pytest.fixture(scope="module")
def rec_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path_factory.mktemp("record-cloud"))
    yield server
    server.stop()


@pytest.fixture
def api(rec_cloud: CloudServer) -> Iterator[httpx.Client]:
    with rec_cloud.client() as c:
        yield c


@pytest.fixture
def director(api: httpx.Client) -> Director:
    return register(api)


@pytest.fixture
def show(api: httpx.Client, director: Director) -> Show:
    return new_show(api, director)
