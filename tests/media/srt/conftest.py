"""SRT test fixtures: skip without libsrt, and fail any test that leaks a socket or thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from media.srt.handle import open_sockets


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every socket a test opened is closed, and every thread it started has ended."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while True:
        extra = [
            t
            for t in threading.enumerate()
            if t not in before
            and t.is_alive()
            # libsrt's own C threads show up as "dummy" Thread objects once they call into
            # Python (the accept filter); they are libsrt's, not the test's.
            and not isinstance(t, threading._DummyThread)
        ]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not extra, f"threads left running: {extra}"
    assert not open_sockets(), f"SRT sockets left open: {sorted(open_sockets())}"
