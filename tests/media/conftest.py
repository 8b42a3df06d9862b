"""Fixtures for the media tests: sources that are always stopped (joined) at teardown."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from media.sources.base import ThreadedSource
from media.srt import SrtLibraryMissing, version
from tests.media.srt.support import Closer
from tests.support.pulse import start_null_sink

# Before anything imports sounddevice, so the audio capture test has a device to open.
start_null_sink()


@pytest.fixture
def running() -> Iterator[Callable[[ThreadedSource], ThreadedSource]]:
    """Start sources for a test and always stop (join) them afterwards."""
    started: list[ThreadedSource] = []

    def start(source: ThreadedSource) -> ThreadedSource:
        source.start()
        started.append(source)
        return source

    yield start
    for source in started:
        source.stop()


@pytest.fixture(autouse=True)
def no_threads_left() -> Iterator[None]:
    """Every source and clock thread a test started has been stopped and joined."""
    yield
    ours = ("source:", "program-clock")
    left = [t.name for t in threading.enumerate() if t.name.startswith(ours)]
    assert not left, f"threads still running after the test: {left}"


@pytest.fixture(scope="session")
def libsrt() -> str:
    try:
        return version()
    except SrtLibraryMissing as exc:
        pytest.skip(f"{exc}")


@pytest.fixture
def closing(libsrt: str) -> Iterator[Closer]:
    """Register listeners/connections to be closed after the test, whatever happens."""
    closer = Closer()
    yield closer
    closer.close_all()
