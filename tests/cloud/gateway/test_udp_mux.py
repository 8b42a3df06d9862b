"""Every viewer's ICE on one UDP port (`--webrtc-udp-port`, cloud/gateway/udpmux.py): a real
Chromium viewer and a real aiortc viewer at once through it, datagrams nobody claims dropped
and counted, viewers' entries gone when they leave, and a port in use refused at start."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from cloud.gateway.viewer import CONNECT_TIMEOUT_S
from tests.cloud.gateway.helpers import (
    Show,
    live,
    metric,
    publisher,
    run_async,
    watch_with_aiortc,
    whep_offer_sdp,
)
from tests.cloud.gateway.test_ice_ports import (
    PUBLIC_IP,
    SELECTED_PAIR,
    behind_nat,
    candidates,
    show_on,
)
from tests.cloud.gateway.test_turn import PAGE_ICE_SERVERS, coturn  # noqa: F401 - its fixture
from tests.cloud.gateway.test_udp_mux_routing import check
from tests.cloud.gateway.test_viewer_page import more_than, state_is
from tests.support.browser import KEEP_PEER_CONNECTIONS
from tests.support.cloud import CLI, CloudServer
from tests.support.coturn import Coturn, free_udp_ports
from tests.support.procs import free_port, wait_until

MUX_VIEWERS = "gateway_webrtc_udp_mux_viewers"
DROPPED = "gateway_webrtc_udp_dropped_total"


@pytest.fixture(scope="module")
def port() -> int:
    return free_udp_ports(1)[0]


@pytest.fixture(scope="module")
def muxed(tmp_path_factory: pytest.TempPathFactory, port: int) -> Iterator[CloudServer]:
    yield from behind_nat(tmp_path_factory.mktemp("muxed-cloud"), "UDP_PORT", str(port))


@pytest.fixture
def muxed_show(muxed: CloudServer) -> Show:
    return show_on(muxed)


@pytest.fixture(scope="module")
def turn_port() -> int:
    return free_udp_ports(1)[0]


@pytest.fixture(scope="module")
def muxed_turn(
    tmp_path_factory: pytest.TempPathFactory,
    coturn: Coturn,  # noqa: F811 - test_turn's fixture
    turn_port: int,
) -> Iterator[CloudServer]:
    """The shared port with coturn as the gateway's STUN server and the pages' TURN."""
    env = {
        "RETURNFEED_ICE_SERVERS": f"stun:127.0.0.1:{coturn.port}",
        "RETURNFEED_TURN_URLS": coturn.url,
        "RETURNFEED_TURN_SECRET": coturn.secret,
    }
    workdir = tmp_path_factory.mktemp("muxed-turn-cloud")
    yield from behind_nat(workdir, "UDP_PORT", str(turn_port), env)


def dropped(api: httpx.Client, reason: str) -> float:
    return metric(api, f'{DROPPED}{{reason="{reason}"}}')


def udp_sockets(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every UDP socket process `pid` holds, from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, family in (("udp", socket.AF_INET), ("udp6", socket.AF_INET6)):
        with open(f"/proc/{pid}/net/{table}") as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[9] not in inodes:
                    continue
                hex_address, hex_port = fields[1].split(":")
                raw = bytes.fromhex(hex_address)
                # /proc prints each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add((socket.inet_ntop(family, raw), int(hex_port, 16)))
    return found


# --- flags and the start ----------------------------------------------------------------------


def test_a_port_in_use_is_refused_at_start(tmp_path: Path) -> None:
    busy = free_udp_ports(1)[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
        blocker.bind(("127.0.0.1", busy))
        args = [str(CLI), "--data-dir", str(tmp_path), "--port", str(free_port())]
        done = subprocess.run(
            [*args, "--webrtc-udp-port", str(busy)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "RETURNFEED_SRT_PORT": "0"},
        )
    assert done.returncode == 2, done.stderr
    assert f"UDP port {busy} is in use on 127.0.0.1" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


# --- the shared port ---------------------------------------------------------------------------


def test_datagrams_no_viewer_claims_are_dropped_and_counted(muxed: CloudServer, port: int) -> None:
    garbage = [b"hello", b"\x16\xfe\xfd" + bytes(40), b"\x00\x01\x00\x00short", bytes(200)]
    with muxed.client() as api, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        address_before = dropped(api, "unknown_address")
        ufrag_before = dropped(api, "unknown_ufrag")
        for _ in range(25):  # a flood, which the log must not echo
            for datagram in garbage:
                peer.sendto(datagram, ("127.0.0.1", port))
        peer.sendto(check("nope:abcd", "not-the-password"), ("127.0.0.1", port))
        wait_until(
            lambda: (
                dropped(api, "unknown_address") == address_before + 100
                and dropped(api, "unknown_ufrag") == ufrag_before + 1
            ),
            10,
            "the datagrams counted as dropped",
        )
        assert muxed.alive()
        assert api.get("/api/health").status_code == 200
        assert metric(api, MUX_VIEWERS) == 0
    log = muxed.log_text()
    assert log.count("dropping datagrams (unknown_address)") == 1, log
    assert log.count("dropping datagrams (unknown_ufrag)") == 1, log


def test_chromium_and_aiortc_watch_at_once_through_the_one_port(
    muxed: CloudServer, muxed_show: Show, port: int, webrtc_browser: Browser, tmp_path: Path
) -> None:
    show = muxed_show
    assert muxed.proc is not None and muxed.srt_port is not None
    stop = threading.Event()
    context = webrtc_browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.add_init_script(KEEP_PEER_CONNECTIONS)
    with ExitStack() as stack:
        api = stack.enter_context(muxed.client())
        stack.callback(context.close)
        stack.enter_context(publisher(show, muxed.srt_port, tmp_path / "send.log"))
        wait_until(lambda: live(api, show), 20, "the publisher is live")
        pool = stack.enter_context(ThreadPoolExecutor(1))
        stack.callback(stop.set)  # before the pool waits for the viewer
        watching = pool.submit(
            run_async,
            watch_with_aiortc(
                muxed.base_url, show.session_id, show.viewer_token, seconds=60, stop=stop
            ),
        )
        wait_until(lambda: metric(api, MUX_VIEWERS) == 1, 20, "the aiortc viewer in the mux")
        page.goto(f"{muxed.base_url}/watch#{show.viewer_invite}")
        state_is(page, "playing")
        more_than(page, "frames", 30)
        pair = page.evaluate(SELECTED_PAIR)
        assert metric(api, MUX_VIEWERS) == 2
        # Both viewers on the one port: the gateway has no other UDP socket but SRT's.
        held = udp_sockets(muxed.proc.popen.pid)
        assert {p for _, p in held} == {port, muxed.srt_port}, held
        assert ("127.0.0.1", port) in held, held
        stop.set()
        watched = watching.result()
        # The aiortc viewer left (DELETE): out of the mux, while the page still plays.
        wait_until(lambda: metric(api, MUX_VIEWERS) == 1, 10, "the aiortc viewer out of the mux")
        more_than(page, "frames", 60)
        page.goto("about:blank")  # pagehide: the page leaves the gateway
        wait_until(lambda: metric(api, MUX_VIEWERS) == 0, 10, "the page's viewer out of the mux")
    assert watched.status == 201
    assert watched.video_frames > 10, watched
    hosts = [(h, p) for h, p, kind in candidates(watched.answer) if kind == "host"]
    assert ("127.0.0.1", port) in hosts, hosts
    assert (PUBLIC_IP, port) in hosts, hosts
    assert {p for _, p in hosts} == {port}, hosts
    assert pair["remote"]["type"] == "host", pair
    assert pair["remote"]["port"] == port, pair
    assert pair["bytes"] > 0, pair


def test_viewers_that_never_connect_leave_the_mux(
    muxed: CloudServer, muxed_show: Show, tmp_path: Path
) -> None:
    show = muxed_show
    offer = whep_offer_sdp()
    headers = {**show.viewer_auth, "Content-Type": "application/sdp"}
    assert muxed.srt_port is not None
    with muxed.client() as api, publisher(show, muxed.srt_port, tmp_path / "send.log"):
        wait_until(lambda: live(api, show), 20, "the publisher is live")
        # One is taken back by its page (DELETE) before ICE; one is simply never used.
        answers = []
        for _ in range(2):
            r = api.post(f"/whep/{show.session_id}", content=offer, headers=headers)
            assert r.status_code == 201, r.text
            answers.append(r)
        assert metric(api, MUX_VIEWERS) == 2
        # Two answers from one offer: each viewer its own ufrag, both on the port.
        ufrags = {line for r in answers for line in r.text.splitlines() if "ice-ufrag" in line}
        assert len(ufrags) == 2, ufrags
        deleted = api.delete(answers[0].headers["location"], headers=show.viewer_auth)
        assert deleted.status_code == 204
        assert metric(api, MUX_VIEWERS) == 1
        wait_until(
            lambda: metric(api, MUX_VIEWERS) == 0,
            CONNECT_TIMEOUT_S + 10,
            "the viewer that never connected out of the mux",
        )
        assert api.get("/api/health").status_code == 200


def test_through_coturn_and_with_a_stun_server_on_the_one_port(
    muxed_turn: CloudServer,
    turn_port: int,
    webrtc_browser: Browser,
    tmp_path: Path,
) -> None:
    """A page forced to relay reaches the shared port from coturn's relay address; every
    viewer's STUN request to coturn leaves by the shared socket, and each answer comes back
    to the viewer that asked (by transaction: they all come from coturn's one address)."""
    server, port = muxed_turn, turn_port
    show = show_on(server)
    context = webrtc_browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.add_init_script(KEEP_PEER_CONNECTIONS)
    assert server.srt_port is not None
    with ExitStack() as stack:
        api = stack.enter_context(server.client())
        stack.callback(context.close)
        stack.enter_context(publisher(show, server.srt_port, tmp_path / "send.log"))
        wait_until(lambda: live(api, show), 20, "the publisher is live")
        page.goto(f"{server.base_url}/watch?ice=relay#{show.viewer_invite}")
        state_is(page, "playing")
        more_than(page, "frames", 30)
        pair = page.evaluate(SELECTED_PAIR)
        assert page.evaluate(PAGE_ICE_SERVERS)["policy"] == "relay"
        # Nothing dropped on the way: coturn's STUN answers and relayed checks all claimed
        # (viewers that leave may still have a consent check in flight, so only until now).
        assert metric(api, DROPPED) == 0
        watched = run_async(
            watch_with_aiortc(server.base_url, show.session_id, show.viewer_token, seconds=3)
        )
        page.goto("about:blank")
        wait_until(lambda: metric(api, MUX_VIEWERS) == 0, 10, "both viewers out of the mux")
    assert pair["local"]["type"] == "relay", pair
    assert pair["remote"] == {"type": "host", "address": "127.0.0.1", "port": port}, pair
    assert pair["bytes"] > 10_000, pair
    assert watched.video_frames > 10, watched
    # The gateway's own server-reflexive candidate: coturn saw the shared port.
    found = candidates(watched.answer)
    assert ("127.0.0.1", port, "srflx") in found, found
