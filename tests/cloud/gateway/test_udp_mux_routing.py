"""Who gets a datagram on the shared WebRTC port (cloud/gateway/udpmux.py), in this process:
a real aioice connection gathered through the mux, and a peer socket that sends it ICE checks
signed right and wrong."""

from __future__ import annotations

import asyncio
import socket

import aioice.ice as ice
from aioice import stun
from aioice.utils import random_transaction_id

from cloud.gateway import iceports
from cloud.gateway.gateway import offer_loopback_candidates
from cloud.gateway.iceports import IcePlan
from cloud.gateway.udpmux import UdpMux
from tests.support.coturn import free_udp_ports

DTLS_LIKE = b"\x16\xfe\xfd" + bytes(30)


def check(username: str, password: str) -> bytes:
    request = stun.Message(
        message_method=stun.Method.BINDING,
        message_class=stun.Class.REQUEST,
        transaction_id=random_transaction_id(),
    )
    request.attributes["USERNAME"] = username
    request.attributes["PRIORITY"] = 1
    request.attributes["ICE-CONTROLLING"] = 1
    request.add_message_integrity(password.encode())
    request.add_fingerprint()
    return bytes(request)


async def answer(peer: socket.socket) -> stun.Message:
    data, _ = await asyncio.to_thread(peer.recvfrom, 2048)
    return stun.parse_message(data)


async def scenario(port: int) -> None:
    offer_loopback_candidates()
    mux = UdpMux(port, ["127.0.0.1"])
    drops: list[str] = []
    await mux.start(drops.append)
    connection = ice.Connection(ice_controlling=False)
    iceports.assign(connection, IcePlan(mux))
    await connection.gather_candidates()
    hosts = [(c.host, c.port) for c in connection.local_candidates if c.type == "host"]
    assert ("127.0.0.1", port) in hosts, hosts
    assert mux.viewers == 1
    username = f"{connection.local_username}:peer"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.settimeout(10)
        peer.bind(("127.0.0.1", 0))
        to = ("127.0.0.1", port)
        # A check with the right ufrag but the wrong password reaches the viewer, which
        # refuses it; the sender's address does not become the viewer's.
        peer.sendto(check(username, "not-the-password"), to)
        refused = await answer(peer)
        assert refused.message_class == stun.Class.ERROR
        assert refused.attributes["ERROR-CODE"][0] == 401
        assert mux.known_addresses == 0
        peer.sendto(DTLS_LIKE, to)
        peer.sendto(check("nope:peer", connection.local_password), to)
        # A check signed with the viewer's password: answered, and the address is its own,
        # so what else comes from there (DTLS) goes to it, not to the drop counter.
        peer.sendto(check(username, connection.local_password), to)
        accepted = await answer(peer)
        assert accepted.message_class == stun.Class.RESPONSE
        assert accepted.attributes["XOR-MAPPED-ADDRESS"] == peer.getsockname()
        assert mux.known_addresses == 1
        peer.sendto(DTLS_LIKE, to)
        # Datagrams from one socket are read in order: once this check is answered, the
        # DTLS-like one before it has been handed over too.
        peer.sendto(check(username, connection.local_password), to)
        assert (await answer(peer)).message_class == stun.Class.RESPONSE
    assert drops == ["unknown_address", "unknown_ufrag"], drops
    # The viewer leaves: its ufrag and address go with it, the port stays open for others.
    await connection.close()
    assert (mux.viewers, mux.known_addresses) == (0, 0)
    mux.close()


def test_only_a_check_signed_by_the_viewer_makes_an_address_its_own() -> None:
    asyncio.run(scenario(free_udp_ports(1)[0]))
