"""WHEP admission: one participant token holds a few viewers, a session a set number, and a
viewer that never finishes ICE is freed by its deadline; each refusal is a clear 429 or
503 with Retry-After. An offer's candidates are screened: the gateway checks only a few,
only at places a browser could be, and aioice's log lines keep to a budget."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloud.gateway.helpers import Show, live, metric, new_show, publisher, whep_offer_sdp
from tests.support.api import bearer, redeem, register
from tests.support.cloud import CloudServer, gateway_server
from tests.support.procs import wait_until

PER_SESSION = 3
PER_TOKEN = 2
CONNECT_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    env = {
        "RETURNFEED_MAX_VIEWERS_PER_SESSION": str(PER_SESSION),
        "RETURNFEED_MAX_VIEWERS_PER_TOKEN": str(PER_TOKEN),
        "RETURNFEED_WEBRTC_CONNECT_TIMEOUT_S": str(CONNECT_TIMEOUT_S),
    }
    server = gateway_server(tmp_path_factory.mktemp("whep-admission"), env)
    yield server
    server.stop()


@pytest.fixture
def silent_peer() -> Iterator[int]:
    """A UDP port that takes the gateway's STUN checks and never answers: ICE stays
    unfinished until the viewer's deadline, as with a peer that went away after offering."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _candidate(n: int, host: str, port: int, transport: str = "udp") -> str:
    return f"a=candidate:{n} 1 {transport} {2130706431 - n} {host} {port} typ host\r\n"


def _with_candidates(lines: list[str]) -> str:
    sdp = re.sub(r"a=candidate:[^\r]*\r\n", "", whep_offer_sdp())
    # In the first (video) section; the audio is bundled on its transport.
    end = "a=end-of-candidates\r\n"
    return sdp.replace(end, "".join(lines) + end, 1)


def _unfinishing_offer(port: int) -> str:
    return _with_candidates([_candidate(1, "127.0.0.1", port)])


def _offer(api: httpx.Client, show: Show, token: str, sdp: str) -> httpx.Response:
    return api.post(
        f"/whep/{show.session_id}",
        content=sdp,
        headers={**bearer(token), "Content-Type": "application/sdp"},
    )


def _refused(r: httpx.Response, status: int, code: str, limit: int) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["details"]["limit"] == limit, error
    assert r.headers["retry-after"] == str(error["details"]["retry_after_s"])


def _viewers(api: httpx.Client, show: Show) -> int:
    r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
    return int(r.json()["viewers"])


def test_viewer_limits_per_token_and_session_and_the_connect_deadline(
    limited: CloudServer, silent_peer: int, tmp_path: Path
) -> None:
    sdp = _unfinishing_offer(silent_peer)
    with limited.client() as api:
        show = new_show(api, register(api))
        a = show.viewer_token
        b, c = (redeem(api, show.viewer_invite).json()["participant_token"] for _ in range(2))
        assert limited.srt_port is not None
        with publisher(show, limited.srt_port, tmp_path / "send.log", layers="lo") as proc:
            wait_until(lambda: live(api, show), 15, f"a live publisher\n{proc.tail()}")
            for _ in range(PER_TOKEN):
                assert _offer(api, show, a, sdp).status_code == 201
            _refused(_offer(api, show, a, sdp), 429, "too_many_viewers", PER_TOKEN)
            assert _offer(api, show, b, sdp).status_code == 201
            assert _viewers(api, show) == PER_SESSION
            _refused(_offer(api, show, c, sdp), 503, "session_full", PER_SESSION)
            _refused(_offer(api, show, b, sdp), 503, "session_full", PER_SESSION)
            # None of them finishes ICE: the deadline frees them all, and the token again.
            wait_until(lambda: _viewers(api, show) == 0, 30, "unfinished viewers freed")
            again = _offer(api, show, a, sdp)
            assert again.status_code == 201, again.text
            api.delete(again.headers["location"], headers=bearer(a))
        assert metric(api, 'gateway_viewers_refused_total{reason="token_limit"}') == 1
        assert metric(api, 'gateway_viewers_refused_total{reason="session_full"}') == 2
    assert "ERROR" not in limited.log_text()
    assert limited.alive()


# Places no viewer may point the server at (a backend on loopback may check loopback).
BAD_CANDIDATES = [
    ("224.0.0.251", 40000, "udp"),
    ("0.0.0.0", 40000, "udp"),
    ("255.255.255.255", 40000, "udp"),
    ("::", 40000, "udp"),
    ("127.0.0.1", 53, "udp"),
    ("evil.example.com", 40000, "udp"),
    ("127.0.0.1", 40000, "tcp"),
]


def test_the_gateway_checks_only_allowed_candidates_and_few_of_them(limited: CloudServer) -> None:
    from cloud.gateway.candidates import MAX_CANDIDATES
    from cloud.gateway.icelog import BURST, PER_SECOND

    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(MAX_CANDIDATES + 8)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
        ports = [sock.getsockname()[1] for sock in socks]
        bad = [_candidate(i, *c) for i, c in enumerate(BAD_CANDIDATES)]
        good = [_candidate(100 + i, "127.0.0.1", port) for i, port in enumerate(ports)]
        with limited.client() as api:
            show = new_show(api, register(api))
            r = _offer(api, show, show.viewer_token, _with_candidates(bad))
            assert r.status_code == 400, r.text
            error = r.json()["error"]
            assert error["details"]["reason"] == "candidates", error
            assert sum(error["details"]["dropped"].values()) == len(BAD_CANDIDATES), error
            log_from = len(limited.log_text())
            started = time.monotonic()
            with publisher(show, limited.srt_port or 0, Path(limited.workdir) / "ice.log", "lo"):
                wait_until(lambda: live(api, show), 15, "a live publisher")
                r = _offer(api, show, show.viewer_token, _with_candidates(bad + good))
                assert r.status_code == 201, r.text
                # Nothing answers the checks: the connect deadline ends the viewer, and with
                # it every check it would ever send.
                wait_until(lambda: _viewers(api, show) == 0, 30, "the viewer's deadline")
            elapsed = time.monotonic() - started
        checked = [_received(sock) for sock in socks]
        assert any(checked[:MAX_CANDIDATES]), "no check reached an allowed candidate"
        assert not any(checked[MAX_CANDIDATES:]), checked
        aioice = [line for line in limited.log_text()[log_from:].splitlines() if "aioice" in line]
        assert len(aioice) <= BURST + 1 + elapsed * PER_SECOND, len(aioice)
    finally:
        for sock in socks:
            sock.close()


def _received(sock: socket.socket) -> int:
    count = 0
    with contextlib.suppress(BlockingIOError):
        while sock.recv(2048):
            count += 1
    return count
