"""The gateway's ICE in a fixed UDP port range, with a 1:1 NAT's public address
(`--webrtc-udp-ports`, `--webrtc-public-ip`, cloud/gateway/iceports.py): real aiortc and
Chromium viewers against a real backend, and the refusal when the range is full."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from cloud.gateway.iceports import NoFreePort, PortAllocator, PortRange, parse_port_range
from tests.cloud.gateway.helpers import (
    Show,
    live,
    metric,
    new_show,
    publisher,
    run_async,
    watch_with_aiortc,
    whep_offer_sdp,
)
from tests.cloud.gateway.test_viewer_page import more_than, state_is
from tests.support.api import register
from tests.support.browser import KEEP_PEER_CONNECTIONS
from tests.support.cloud import CLI, CloudServer, gateway_server
from tests.support.coturn import free_udp_ports
from tests.support.procs import wait_until

PUBLIC_IP = "203.0.113.7"  # TEST-NET-3: advertised, never reached
RANGE_SIZE = 3
CANDIDATE = re.compile(r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ (\w+)", re.IGNORECASE)
# The selected pair of the page's live connection, as Chromium reports it.
SELECTED_PAIR = """async () => {
  const pc = window.__pcs.filter((p) => p.connectionState === "connected").pop();
  const stats = await pc.getStats();
  const byId = {};
  stats.forEach((s) => { byId[s.id] = s; });
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = byId[s.selectedCandidatePairId];
  });
  const side = (c) => ({ type: c.candidateType, address: c.address, port: c.port });
  return { local: side(byId[pair.localCandidateId]), remote: side(byId[pair.remoteCandidateId]),
           bytes: pair.bytesReceived };
}"""


@pytest.fixture(scope="module")
def ports() -> PortRange:
    return PortRange(*free_udp_ports(RANGE_SIZE))


@pytest.fixture(scope="module")
def ranged(tmp_path_factory: pytest.TempPathFactory, ports: PortRange) -> Iterator[CloudServer]:
    yield from behind_nat(tmp_path_factory.mktemp("ranged-cloud"), "UDP_PORTS", str(ports))


def behind_nat(
    workdir: Path, setting: str, ports: str, more: dict[str, str] | None = None
) -> Iterator[CloudServer]:
    """A backend with RETURNFEED_WEBRTC_<setting>=`ports` that offers PUBLIC_IP too (and
    the settings in `more`)."""
    env = {f"RETURNFEED_WEBRTC_{setting}": ports, "RETURNFEED_WEBRTC_PUBLIC_IPS": PUBLIC_IP}
    server = gateway_server(workdir, env={**env, **(more or {})})
    yield server
    server.stop()


@pytest.fixture
def ranged_show(ranged: CloudServer) -> Show:
    return show_on(ranged)


def show_on(server: CloudServer) -> Show:
    """A new director's show on `server`."""
    with server.client() as api:
        return new_show(api, register(api))


def candidates(answer: str) -> list[tuple[str, int, str]]:
    return [(h, int(p), t) for h, p, t in CANDIDATE.findall(answer)]


# --- the allocator, in this process -------------------------------------------------------


def test_port_range_parsing() -> None:
    assert parse_port_range("40000-40999") == PortRange(40000, 40999)
    assert parse_port_range("40000") == PortRange(40000, 40000)
    for bad, says in (
        ("40999-40000", "below the first"),
        ("80-90", "1024..65535"),
        ("4o000-40999", "FIRST-LAST"),
        ("40000-70000", "1024..65535"),
    ):
        with pytest.raises(ValueError, match=says):
            parse_port_range(bad)


def test_allocator_binds_one_port_on_every_address_and_refuses_a_full_range() -> None:
    first, last = free_udp_ports(2)
    allocator = PortAllocator(PortRange(first, last))
    addresses = ["127.0.0.1", "127.0.0.2"]
    with ExitStack() as held:
        port, sockets = allocator.bind(addresses)
        for sock in sockets:
            held.callback(sock.close)
        assert first <= port <= last
        assert [s.getsockname() for s in sockets] == [(a, port) for a in addresses]
        # The other port is taken by another program on one address only: still not free.
        other = first if port == last else last
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        held.callback(blocker.close)
        blocker.bind(("127.0.0.2", other))
        with pytest.raises(NoFreePort, match=f"no free UDP port in {first}-{last}"):
            allocator.bind(addresses)
    # Freed: the next viewer gets a port again (the cursor moved on, so the other one first).
    port2, sockets2 = allocator.bind(addresses)
    for sock in sockets2:
        sock.close()
    assert port2 == other


# --- the backend ----------------------------------------------------------------------------


def test_bad_port_flags_are_refused_at_start(tmp_path: Path) -> None:
    base = [str(CLI), "--data-dir", str(tmp_path), "--migrate-only"]
    for args, says in (
        (["--webrtc-udp-ports", "50000-40000"], "below the first"),
        (["--webrtc-udp-ports", "ports"], "FIRST-LAST"),
        (["--webrtc-public-ip", "my.host"], "not an IPv4 or IPv6 address"),
        (["--webrtc-public-ip", PUBLIC_IP], "needs --webrtc-udp-port or --webrtc-udp-ports"),
        (["--webrtc-udp-port", "8189", "--webrtc-udp-ports", "40000-40999"], "not both"),
        (["--webrtc-udp-port", "80"], "1024..65535"),
        (["--webrtc-udp-port", "port"], "not a number"),
    ):
        done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert says in done.stderr, (args, done.stderr)


def test_viewer_connects_through_the_range_with_the_public_address_offered(
    ranged: CloudServer, ranged_show: Show, ports: PortRange, tmp_path: Path
) -> None:
    show = ranged_show
    with ranged.client() as api, publisher(show, ranged.srt_port or 0, tmp_path / "send.log"):
        wait_until(lambda: live(api, show), 20, "the publisher is live")
        watched = run_async(
            watch_with_aiortc(ranged.base_url, show.session_id, show.viewer_token, seconds=3)
        )
    assert watched.status == 201
    assert watched.video_frames > 10, watched
    found = candidates(watched.answer)
    hosts = [(h, p) for h, p, kind in found if kind == "host"]
    assert ("127.0.0.1", hosts[0][1]) in hosts, found
    port = hosts[0][1]
    # One port of the range for the whole connection, on every address, the public one too.
    assert ports.first <= port <= ports.last, found
    assert {p for _, p in hosts} == {port}, found
    assert (PUBLIC_IP, port) in hosts, found


def test_a_full_range_gets_a_clear_503_and_the_next_viewer_a_port_again(
    ranged: CloudServer, ranged_show: Show, ports: PortRange, tmp_path: Path
) -> None:
    show = ranged_show
    offer = whep_offer_sdp()
    headers = {**show.viewer_auth, "Content-Type": "application/sdp"}
    with ExitStack() as stack:
        api = stack.enter_context(ranged.client())
        stack.enter_context(publisher(show, ranged.srt_port or 0, tmp_path / "send.log"))
        wait_until(lambda: live(api, show), 20, "the publisher is live")
        # Another program holds one port of the range; viewers that never finish ICE hold
        # the rest until they leave.
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stack.callback(blocker.close)
        blocker.bind(("127.0.0.1", ports.first))
        refused_before = metric(api, "gateway_viewers_refused_total")
        held = []
        for _ in range(RANGE_SIZE - 1):
            r = api.post(f"/whep/{show.session_id}", content=offer, headers=headers)
            assert r.status_code == 201, r.text
            held.append(r.headers["location"])
        r = api.post(f"/whep/{show.session_id}", content=offer, headers=headers)
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert error["code"] == "no_udp_port"
        assert error["message"] == f"no free UDP port in {ports}"
        assert r.headers["retry-after"] == "2"
        assert metric(api, "gateway_viewers_refused_total") == refused_before + 1
        assert "viewer refused: no free UDP port in" in ranged.log_text()
        # The backend is fine, and a viewer that leaves frees its port for the next one.
        assert api.get("/api/health").status_code == 200
        assert api.delete(held.pop(), headers=show.viewer_auth).status_code == 204
        r = api.post(f"/whep/{show.session_id}", content=offer, headers=headers)
        assert r.status_code == 201, r.text
        held.append(r.headers["location"])
        port = candidates(r.text)[0][1]
        assert ports.first < port <= ports.last
        for location in held:
            api.delete(location, headers=show.viewer_auth)


def test_chromium_plays_through_the_range(
    ranged: CloudServer,
    ranged_show: Show,
    ports: PortRange,
    webrtc_browser: Browser,
    tmp_path: Path,
) -> None:
    context = webrtc_browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.add_init_script(KEEP_PEER_CONNECTIONS)
    try:
        with publisher(ranged_show, ranged.srt_port or 0, tmp_path / "send.log"):
            page.goto(f"{ranged.base_url}/watch#{ranged_show.viewer_invite}")
            state_is(page, "playing")
            more_than(page, "frames", 30)
            pair = page.evaluate(SELECTED_PAIR)
    finally:
        context.close()
    # The browser's remote side is the gateway's: a host candidate with a port of the range.
    assert pair["remote"]["type"] == "host", pair
    assert ports.first <= pair["remote"]["port"] <= ports.last, pair
    assert pair["bytes"] > 0, pair
