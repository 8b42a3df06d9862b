"""A lossy, slow path on both legs: SRT into the backend and WebRTC out to the viewer.

netem is not available on this machine (no sch_netem), so each leg goes through a lossy UDP
relay on loopback (tests/support/lossy_relay.py): `returnfeed send` -> relay -> SRT ingest,
and gateway -> relay -> Chromium on /watch. With 5 % loss and 100 ms RTT on both, SRT must
hold (its latency, 4x the RTT, leaves room to retransmit), the viewer must keep decoding
and go to lo; healed, it must come back to hi. The relay itself is checked first.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.cloud.gateway.helpers import (
    Show,
    longest_freeze,
    new_show,
    publisher,
    quality_switches,
    relayed_viewer,
    summary,
    wait_for,
)
from tests.support.api import register
from tests.support.browser import webrtc_chromium
from tests.support.cloud import CloudServer, gateway_server
from tests.support.lossy_relay import MAX_PEERS, Address, lossy_relay
from tests.support.procs import wait_until

LOSS = 0.05
ONE_WAY_MS = 50.0  # RTT 100 ms
SRT_LATENCY_MS = 400  # ~4x RTT: time for a few retransmissions of each lost packet
HI, LO = 640, 320
MAX_FREEZE_S = 2.0
IMPAIRED_S = 10.0  # the least time both legs stay bad, lo reached or not


# --- the relay on its own ----------------------------------------------------------------


@pytest.fixture
def echo() -> Iterator[Address]:
    """A UDP echo server on its own thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            sock.sendto(data, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()
    stop.set()
    thread.join(5)
    sock.close()


def receive_all(sock: socket.socket, quiet_s: float) -> set[bytes]:
    """What `sock` receives until nothing has come for `quiet_s`."""
    got: set[bytes] = set()
    sock.settimeout(quiet_s)
    with contextlib.suppress(TimeoutError):
        while True:
            got.add(sock.recv(65535))
    return got


def exchange(client: socket.socket, to: Address, payloads: list[bytes]) -> set[bytes]:
    """Send `payloads` a few at a time (no socket buffer overflows on a loaded machine) and
    collect what comes back until nothing has for a second."""
    back: set[bytes] = set()
    for i, payload in enumerate(payloads):
        client.sendto(payload, to)
        if i % 10 == 9:
            back |= receive_all(client, 0.005)
    return back | receive_all(client, 1.0)


def test_the_relay_drops_and_delays_as_set_and_heals(echo: Address) -> None:
    with (
        lossy_relay(echo, seed=1) as relay,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        relay.impair(delay_ms=40)
        client.settimeout(2)
        start = time.monotonic()
        client.sendto(b"ping", relay.address)
        assert client.recv(100) == b"ping"
        assert time.monotonic() - start >= 0.080, "40 ms each way"

        relay.impair(loss=0.2)
        n = 1000
        back = exchange(client, relay.address, [i.to_bytes(4, "big") for i in range(n)])
        c = relay.counters
        # The relay's own tally: ~20 % each way (binomial sd ~1.3 %, ~1.1 % for the way back).
        assert 0.14 < c.dropped["up"] / n < 0.26, c
        assert 0.14 < c.dropped["down"] / (n - c.dropped["up"]) < 0.26, c
        assert len(back) == c.forwarded["down"] - 1, "all it sent back arrived (less the ping)"

        relay.heal()
        assert exchange(client, relay.address, [b"healed"]) == {b"healed"}


def test_the_relay_drops_the_same_datagrams_for_the_same_seed() -> None:
    def arrived(seed: int) -> set[bytes]:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
        ):
            sink.bind(("127.0.0.1", 0))
            with lossy_relay(sink.getsockname(), seed=seed) as relay:
                relay.impair(loss=0.3)
                got: set[bytes] = set()
                for i in range(200):
                    client.sendto(i.to_bytes(2, "big"), relay.address)
                    if i % 10 == 9:
                        got |= receive_all(sink, 0.005)
                got |= receive_all(sink, 1.0)
                assert len(got) == relay.counters.forwarded["up"]
                return got

    first = arrived(7)
    assert first == arrived(7)
    assert first != arrived(8)


def test_the_relay_forwards_garbage_and_survives_a_flood_of_peers(echo: Address) -> None:
    rng = random.Random(4)
    with lossy_relay(echo) as relay:
        peers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(MAX_PEERS + 8)]
        try:
            garbage = [
                os.urandom(n) for n in (0, 1, 65507, *(rng.randrange(1, 2000) for _ in range(50)))
            ]
            assert exchange(peers[0], relay.address, garbage) == set(garbage)
            for p in peers[1:]:
                p.sendto(b"\xff" * 16, relay.address)
            wait_until(
                lambda: relay.peers + relay.counters.refused_peers >= len(peers),
                10,
                f"every peer handled ({relay.counters})",
            )
            assert relay.peers == MAX_PEERS
            assert relay.counters.refused_peers == len(peers) - MAX_PEERS
            # Still a working relay for the peers it has.
            assert exchange(peers[0], relay.address, [b"still here"]) == {b"still here"}
        finally:
            for p in peers:
                p.close()


# --- the whole path ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path_factory.mktemp("lossy-path"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with webrtc_chromium() as b:
        yield b


@pytest.fixture
def api(backend: CloudServer) -> Iterator[httpx.Client]:
    with backend.client() as c:
        yield c


def live(api: httpx.Client, show: Show) -> bool:
    r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
    return bool(r.status_code == 200 and r.json()["live"])


def publishers_seen(backend: CloudServer, show: Show) -> list[str]:
    """The backend's "SRT publisher ... from ..." lines for this session: one per layer
    unless a layer had to reconnect."""
    return re.findall(rf"SRT publisher \S*{show.session_id}\S* from .*", backend.log_text())


def test_srt_and_viewer_on_a_lossy_path_hold_and_the_viewer_goes_to_low_and_back(
    backend: CloudServer, api: httpx.Client, browser: Browser, tmp_path: Path
) -> None:
    show = new_show(api, register(api))
    sid = show.session_id
    srt_port = backend.srt_port
    assert srt_port is not None
    with (
        lossy_relay(("127.0.0.1", srt_port), seed=8) as srt_path,
        lossy_relay(seed=9) as viewer_path,
        publisher(show, srt_path.port, tmp_path / "send.log", latency_ms=SRT_LATENCY_MS) as proc,
        relayed_viewer(browser, backend.base_url, show, viewer_path) as video,
    ):
        wait_until(lambda: live(api, show), 20, f"a live publisher\n{proc.tail()}")
        wait_for(lambda: video.decoding(HI, 30), 30, lambda: f"hi frames: {video.describe()}")
        assert srt_path.peers == 2, "both layers come through the SRT relay"
        assert len(publishers_seen(backend, show)) == 2

        for leg in (srt_path, viewer_path):
            leg.impair(loss=LOSS, delay_ms=ONE_WAY_MS)
        impaired_at = video.clock()
        stayed_live = True

        def lo_and_held() -> bool:
            nonlocal stayed_live
            stayed_live = stayed_live and live(api, show)
            return (
                video.clock() > impaired_at + IMPAIRED_S
                and video.decoding(LO, 30)
                and quality_switches(api, sid, "hi", "lo") >= 1
            )

        wait_for(lo_and_held, IMPAIRED_S + 20, lambda: f"lo frames: {video.describe()}")
        healed_at = video.clock()
        for leg in (srt_path, viewer_path):
            leg.heal()
        wait_for(
            lambda: video.decoding(HI, 30) and quality_switches(api, sid, "lo", "hi") >= 1,
            30,
            lambda: f"hi frames after healing: {video.describe()}",
        )
        assert proc.alive(), proc.tail()
    print(f"{summary(video, impaired_at, healed_at)}; SRT relay {srt_path.counters}")

    # SRT held: the session never went off air, no layer reconnected, and the SRT relay
    # really dropped media (and the retransmission requests and acks coming back).
    assert stayed_live, "the session went off air during the impairment"
    assert len(publishers_seen(backend, show)) == 2, publishers_seen(backend, show)
    assert "reconnecting" not in proc.tail(400), proc.tail()
    assert srt_path.counters.dropped["up"] > 0 and srt_path.counters.dropped["down"] > 0
    # The viewer kept decoding on one connection, lo while the link was bad.
    after = video.since(impaired_at)
    assert {s.connections for s in video.samples} == {1}, "the page had to reconnect"
    freeze = longest_freeze(after)
    assert freeze <= MAX_FREEZE_S, f"froze {freeze:.1f} s ({video.describe(60)})"
    assert {s.width for s in after} <= {HI, LO}
    assert viewer_path.counters.dropped["down"] > 0
