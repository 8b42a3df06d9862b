"""A real NDI sender on loopback (found by extra IP 127.0.0.1: mDNS finds nothing here)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from media.sources.base import RetryPolicy, SourceState, ThreadedSource
from media.sources.ndi import NdiSource, list_ndi_sources
from tests.media.support import LOOPBACK, SENDER_LUMA, LoopbackSender, wait_for

FAST = RetryPolicy(signal_timeout=0.5, first_delay=0.05, max_delay=0.3)
Start = Callable[[ThreadedSource], ThreadedSource]


@pytest.fixture
def sender() -> Iterator[LoopbackSender]:
    sender = LoopbackSender(f"rf-test-{uuid.uuid4().hex[:8]}")
    sender.start()
    yield sender
    sender.stop()


def test_receive_tally_lose_and_recover(sender: LoopbackSender, running: Start) -> None:
    source = running(NdiSource("Cam A", sender.name, config=LOOPBACK, retry=FAST))
    assert isinstance(source, NdiSource)
    got = wait_for(lambda: source.slot.wait_newer(0, 1.0), 10.0, "an NDI frame")
    assert not got.slate and got.frame.size.width == 640
    assert abs(int(np.median(got.frame.y)) - SENDER_LUMA) <= 3
    assert source.status.state is SourceState.LIVE

    source.set_tally(program=True, preview=False)
    wait_for(lambda: sender.tally() == (True, False), 5.0, "program tally at the sender")
    source.set_tally(program=False, preview=True)
    wait_for(lambda: sender.tally() == (False, True), 5.0, "preview tally at the sender")

    sender.stop()
    wait_for(lambda: (s := source.slot.read()) and s.slate, 5.0, "the slate")
    assert source.status.state is SourceState.LOST

    sender.start()  # the same name comes back: the source finds it again by itself
    wait_for(lambda: (s := source.slot.read()) and not s.slate, 15.0, "recovery")
    # Tally is re-sent to the new connection.
    wait_for(lambda: sender.tally() == (False, True), 5.0, "tally after reconnect")


def test_discovery_lists_the_loopback_sender(sender: LoopbackSender) -> None:
    def listed() -> bool:
        names = [s.name for s in list_ndi_sources(LOOPBACK, timeout=0.3)]
        return any(name.endswith(f"({sender.name})") for name in names)

    # Usually the first look finds it; another process's NDI senders can delay it.
    wait_for(listed, 10.0, "the sender in the NDI source list")


def test_unknown_source_gives_slate(running: Start) -> None:
    source = running(NdiSource("Ghost", f"rf-missing-{uuid.uuid4().hex[:8]}", config=LOOPBACK))
    latest = wait_for(source.slot.read, 5.0, "the slate")
    assert latest.slate
    assert "not found" in (source.status.error or "")


def test_discovery_server_is_queried() -> None:
    """NDI reads its config once per process, so this runs in a fresh interpreter."""
    code = textwrap.dedent(
        """
        import socket
        from media.sources.ndi import NdiConfig, NdiFinder, start_ndi
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(10)
        port = server.getsockname()[1]
        start_ndi(NdiConfig(discovery_server=f"127.0.0.1:{port}"))
        finder = NdiFinder(NdiConfig())
        peer, _ = server.accept()
        peer.settimeout(5)
        print(peer.recv(64))
        finder.close()
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "<query/>" in done.stdout
