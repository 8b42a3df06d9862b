"""The backend most app tests talk to: `returnfeed-cloud` on loopback with SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cloud import RELAXED_RATES, CloudServer


@contextmanager
def sqlite_backend(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[CloudServer]:
    """A backend that must still be up when the test is done; `env` adds RETURNFEED_*."""
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}", RELAXED_RATES, env)
    try:
        yield server
        assert server.alive(), server.log_text()[-3000:]
    finally:
        server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    with sqlite_backend(tmp_path) as server:
        yield server
