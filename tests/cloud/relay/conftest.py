"""Backends for the relay tests: the real `returnfeed-cloud` on SQLite, one per relay setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cloud.relay.peers import Show, new_show
from tests.support.cloud import RELAXED_RATES, CloudServer

# Clients may send as fast as a test likes; the rate limit has a backend of its own.
LENIENT = [*RELAXED_RATES, "--relay-burst", "100000", "--relay-rate", "100000"]
# Short heartbeats, so a silent client is closed in a second; the relay's default rate limit.
STRICT = [*RELAXED_RATES, "--relay-heartbeat-s", "0.2", "--relay-timeout-s", "1"]


def _serve(tmp: pytest.TempPathFactory, name: str, args: list[str]) -> Iterator[CloudServer]:
    work = tmp.mktemp(name)
    server = CloudServer(work, f"sqlite:///{work / 'returnfeed.db'}", args)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lenient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    yield from _serve(tmp_path_factory, "relay-lenient", LENIENT)


@pytest.fixture(scope="session")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    yield from _serve(tmp_path_factory, "relay-strict", STRICT)


def _alive(server: CloudServer) -> None:
    assert server.alive(), f"the backend died:\n{server.log_text()[-3000:]}"


@pytest.fixture
def show(lenient_server: CloudServer) -> Iterator[Show]:
    """A fresh director and session with cameras 1-3, on the lenient backend."""
    yield new_show(lenient_server)
    _alive(lenient_server)


@pytest.fixture
def strict_show(strict_server: CloudServer) -> Iterator[Show]:
    yield new_show(strict_server)
    _alive(strict_server)
