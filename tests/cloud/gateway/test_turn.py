"""TURN with short-lived credentials (cloud/gateway/turn.py) against a real coturn run from
deploy/turnserver.conf: the credentials coturn accepts and refuses, what the pages are
given, and a Chromium viewer forced to relay only that plays the program through it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import turn as aioice_turn
from aioice.stun import TransactionFailed
from playwright.sync_api import Browser

from cloud.gateway.turn import TurnRest, check_turn_url
from tests.cloud.gateway.helpers import Show, new_show, publisher, run_async
from tests.cloud.gateway.test_ice_ports import SELECTED_PAIR
from tests.cloud.gateway.test_viewer_page import more_than, state_is
from tests.support.api import register
from tests.support.browser import KEEP_PEER_CONNECTIONS
from tests.support.cloud import CloudServer, gateway_server
from tests.support.coturn import Coturn

TTL_S = 600
# The ICE servers the page's live connection was made with.
PAGE_ICE_SERVERS = """() => {
  const pc = window.__pcs.filter((p) => p.connectionState === "connected").pop();
  const config = pc.getConfiguration();
  return { servers: config.iceServers, policy: config.iceTransportPolicy };
}"""


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    server = Coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def turned(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[CloudServer]:
    env = {
        "RETURNFEED_TURN_URLS": coturn.url,
        "RETURNFEED_TURN_SECRET": coturn.secret,
        "RETURNFEED_TURN_TTL_S": str(TTL_S),
    }
    server = gateway_server(tmp_path_factory.mktemp("turn-cloud"), env=env)
    yield server
    server.stop()


@pytest.fixture
def turned_show(turned: CloudServer) -> Show:
    with turned.client() as api:
        return new_show(api, register(api))


def allocate(coturn: Coturn, username: str, password: str) -> str:
    """Ask coturn for a relay with these credentials (aioice's TURN client): 'ok' or the
    error."""

    async def go() -> str:
        try:
            transport, _ = await asyncio.wait_for(
                aioice_turn.create_turn_endpoint(
                    asyncio.DatagramProtocol,
                    server_addr=("127.0.0.1", coturn.port),
                    username=username,
                    password=password,
                ),
                10,
            )
        except TransactionFailed as exc:
            return str(exc)
        transport.close()
        return "ok"

    return run_async(go())


def test_rest_credentials_follow_the_scheme() -> None:
    rest = TurnRest(("turn:turn.example.com:3478",), "s3cret", 3600)
    server = rest.ice_server("p1", now=1_000_000.5)
    assert server["urls"] == ["turn:turn.example.com:3478"]
    assert server["username"] == "1003600:p1"
    digest = hmac.new(b"s3cret", b"1003600:p1", hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(digest).decode()
    assert "s3cret" not in repr(rest)
    for bad, says in (
        ("turn:user:pw@host:3478", "no user or password"),
        ("stun:host:3478", "turn:HOST"),
        ("turn:host:99999", "1..65535"),
        ("turn:host:3478?transport=sctp", "turn:HOST"),
    ):
        with pytest.raises(ValueError, match=says):
            check_turn_url(bad)
    assert check_turn_url("turns:turn.example.com:5349?transport=tcp")


def test_coturn_takes_a_minted_credential_and_refuses_expired_or_foreign_ones(
    coturn: Coturn,
) -> None:
    rest = TurnRest((coturn.url,), coturn.secret, TTL_S)
    good = rest.ice_server("viewer1")
    assert allocate(coturn, str(good["username"]), str(good["credential"])) == "ok"
    assert good["username"] in coturn.allocations()
    expired = rest.ice_server("viewer1", now=time.time() - TTL_S - 60)
    assert "401" in allocate(coturn, str(expired["username"]), str(expired["credential"]))
    foreign = TurnRest((coturn.url,), "another secret", TTL_S).ice_server("viewer1")
    assert "401" in allocate(coturn, str(foreign["username"]), str(foreign["credential"]))


def test_pages_get_a_fresh_credential_and_never_the_secret(
    turned: CloudServer, turned_show: Show, coturn: Coturn
) -> None:
    show = turned_show
    with turned.client() as api:
        before = time.time()
        status = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
        assert status.status_code == 200
        (server,) = status.json()["ice_servers"]
        assert server["urls"] == [coturn.url]
        expiry, _, participant = server["username"].partition(":")
        assert before + TTL_S - 1 <= int(expiry) <= time.time() + TTL_S
        assert participant  # whose credential it is, in coturn's log
        assert allocate(coturn, server["username"], server["credential"]) == "ok"
        # Without a token, no credential.
        assert api.get(f"/whep/{show.session_id}/status").status_code == 401
        pages = [api.get(p).text for p in ("/watch", "/tally", "/shared/whep.js")]
    for text in [status.text, *pages, turned.log_text()]:
        assert coturn.secret not in text


def test_chromium_forced_to_relay_plays_through_coturn(
    turned: CloudServer, turned_show: Show, coturn: Coturn, webrtc_browser: Browser, tmp_path: Path
) -> None:
    context = webrtc_browser.new_context(viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.add_init_script(KEEP_PEER_CONNECTIONS)
    try:
        with publisher(turned_show, turned.srt_port or 0, tmp_path / "send.log"):
            page.goto(f"{turned.base_url}/watch?ice=relay#{turned_show.viewer_invite}")
            state_is(page, "playing")
            more_than(page, "frames", 30)
            more_than(page, "audioPackets", 20)
            pair = page.evaluate(SELECTED_PAIR)
            config = page.evaluate(PAGE_ICE_SERVERS)
    finally:
        context.close()
    assert config["policy"] == "relay", config
    # The browser's side of the pair in use is coturn's relay address...
    assert pair["local"]["type"] == "relay", pair
    low, high = coturn.relay_ports
    assert pair["local"]["address"] == "127.0.0.1" and low <= pair["local"]["port"] <= high, pair
    # ...to the gateway's host candidate, and the media came that way.
    assert pair["remote"]["type"] == "host", pair
    assert pair["bytes"] > 10_000, pair
    # coturn allocated for the credential the backend minted for this page, and opened a
    # permission to the gateway's address.
    username = config["servers"][0]["username"]
    assert username in coturn.allocations(), coturn.log()[-3000:]
    assert "peer 127.0.0.1 lifetime updated" in coturn.log()
