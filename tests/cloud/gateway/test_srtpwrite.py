"""The C send path (`RtpStream.send`, _rtpout.c): the datagrams a real UDP socket receives
are byte for byte those pylibsrtp's `Session.protect` makes of `RtpStream.packets_for`'s
packets, and what the socket does not take goes to the transport, in order."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pylibsrtp
import pytest

from cloud.gateway import _rtpout
from cloud.gateway.packetize import RtpStream
from cloud.gateway.srtpwrite import PacketTooLong, context
from cloud.gateway.units import Unit

EXTENSION = struct.pack("!HH", 0xBEDE, 2) + b"\x10\x00\x31\x12\x34\x56\x00\x00"


def session(key: bytes, outbound: bool = True) -> pylibsrtp.Session:
    kind = pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
    return pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=kind))


def stream() -> RtpStream:
    return RtpStream(
        payload_type=102,
        ssrc=0x1234ABCD,
        clock_rate=90000,
        sequence_number=65534,
        timestamp_origin=12345,
        rtx_sequence_number=7,
    )


@pytest.fixture
def peer() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(a sending socket, a receiving one on loopback)."""
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    into = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    into.bind(("127.0.0.1", 0))
    into.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    into.settimeout(2)
    yield out, into
    out.close()
    into.close()


def abs_send_time_now() -> int:
    ntp = ((time.time_ns() + 2_208_988_800 * 10**9) << 32) // 10**9
    return (ntp >> 14) & 0xFFFFFF


def received(into: socket.socket, count: int) -> list[bytes]:
    return [into.recv(2048) for _ in range(count)]


class Spill:
    """The transport's `sendto`: keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def __call__(self, data: bytes, address: Any) -> None:
        self.sent.append((data, address))


def test_the_packets_are_exactly_pylibsrtps_across_units_and_the_wrap(peer: Any) -> None:
    out, into = peer
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    old, new = stream(), stream()
    for i, size in enumerate([2500, 800, 3900, 1299]):  # FU-A, single, FU-A, ...
        payloads = tuple(os.urandom(min(1200, size - k)) for k in range(0, size, 1200))
        unit = Unit("video", "hi", 1500 * i, b"")
        expected = [theirs.protect(p) for p in old.packets_for(unit, payloads, EXTENSION)]
        sent = new.send(
            context(ours), out.fileno(), into.getsockname(), Spill(), EXTENSION, -1,
            unit.pts, payloads,
        )  # fmt: skip
        assert received(into, len(expected)) == expected
        assert sent == sum(map(len, expected))
    assert (new.sequence_number, new.packets, new.octets, new.last_timestamp) == (
        old.sequence_number,
        old.packets,
        old.octets,
        old.last_timestamp,
    )
    assert new.retransmission(65535, b"") == old.retransmission(65535, b"")


def test_abs_send_time_is_written_at_send_time(peer: Any) -> None:
    out, into = peer
    key = os.urandom(30)
    ours, receiver = session(key), session(key, outbound=False)
    new = stream()
    before = abs_send_time_now()
    new.send(context(ours), out.fileno(), into.getsockname(), Spill(), EXTENSION, 6, 0, (b"x",))
    after = abs_send_time_now()
    packet = receiver.unprotect(into.recv(2048))
    stamped = int.from_bytes(packet[12 + 6 : 12 + 9], "big")
    # between the clock read before and after the call (6.18 fixed point, wrapping at 64 s)
    assert (stamped - before) % (1 << 24) <= (after - before) % (1 << 24)
    assert packet[12:18] == EXTENSION[:6] and packet[21:24] == EXTENSION[9:]


def test_without_a_socket_everything_goes_to_the_transport_in_order() -> None:
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    payloads = (os.urandom(1000), os.urandom(1000), os.urandom(999), os.urandom(500))
    unit = Unit("video", "hi", 0, b"")
    expected = [theirs.protect(p) for p in stream().packets_for(unit, payloads, b"")]
    spill = Spill()
    stream().send(context(ours), -1, "peer", spill, b"", -1, 0, payloads)
    assert spill.sent == [(data, "peer") for data in expected]


def test_what_the_socket_refuses_goes_to_the_transport_in_order() -> None:
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    payloads = (os.urandom(1000), os.urandom(1000), os.urandom(999), os.urandom(500))
    unit = Unit("video", "hi", 0, b"")
    expected = [theirs.protect(p) for p in stream().packets_for(unit, payloads, b"")]
    read, write = os.pipe()  # not a socket: sendmsg fails with ENOTSOCK
    try:
        spill = Spill()
        before = _rtpout.counters()["spilled"]
        stream().send(context(ours), write, ("127.0.0.1", 9), spill, b"", -1, 0, payloads)
    finally:
        os.close(read)
        os.close(write)
    assert spill.sent == [(data, ("127.0.0.1", 9)) for data in expected]
    assert _rtpout.counters()["spilled"] - before == len(expected)


def test_runs_of_equal_sizes_go_in_gso_sends_and_arrive_as_the_same_datagrams(peer: Any) -> None:
    out, into = peer
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    # Two NAL units' FU-A fragments (sizes differ by a byte at most, the larger first), a
    # single NAL between them, and a run longer than one GSO send may carry.
    sizes = [1001, 1001, 1000, 300, 1200, 1199, 1199] + [700] * 70 + [20]
    payloads = tuple(os.urandom(n) for n in sizes)
    unit = Unit("video", "hi", 0, b"")
    expected = [theirs.protect(p) for p in stream().packets_for(unit, payloads, EXTENSION)]
    before = _rtpout.counters()
    stream().send(
        context(ours), out.fileno(), into.getsockname(), Spill(), EXTENSION, -1, 0, payloads
    )
    assert received(into, len(expected)) == expected
    after = _rtpout.counters()
    assert after["gso"], "this kernel takes UDP GSO on loopback"
    assert after["datagrams"] - before["datagrams"] == len(expected)
    assert after["gso_sends"] - before["gso_sends"] < len(payloads) // 10


def test_without_gso_each_datagram_goes_alone(peer: Any) -> None:
    out, into = peer
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    payloads = tuple(os.urandom(n) for n in (900, 900, 899))
    unit = Unit("video", "hi", 0, b"")
    expected = [theirs.protect(p) for p in stream().packets_for(unit, payloads, b"")]
    _rtpout.set_gso(False)
    try:
        before = _rtpout.counters()["gso_sends"]
        to = into.getsockname()
        stream().send(context(ours), out.fileno(), to, Spill(), b"", -1, 0, payloads)
        assert _rtpout.counters()["gso_sends"] == before
    finally:
        _rtpout.set_gso(True)
    assert received(into, 3) == expected


def test_bad_units_are_refused_before_anything_is_numbered_or_sent() -> None:
    ours, new, spill = session(os.urandom(30)), stream(), Spill()
    ctx = context(ours)
    with pytest.raises(PacketTooLong):
        new.send(ctx, -1, "p", spill, b"", -1, 0, (b"x", bytes(1400)))
    with pytest.raises(TypeError):
        new.send(ctx, -1, "p", spill, b"", -1, 0, [b"x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        new.send(ctx, -1, "p", spill, b"", -1, 0, ("text",))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        new.send(ctx, -1, "p", spill, b"", -1, -1, (b"x",))
    with pytest.raises(ValueError):
        new.send(ctx, -1, "p", spill, b"\0" * 4, 2, 0, (b"x",))  # abs-send-time past the end
    with pytest.raises(TypeError):
        new.send(ctx, 3, "not a tuple", spill, b"", -1, 0, (b"x",))
    assert (new.sequence_number, new.packets, spill.sent) == (65534, 0, [])


def test_a_spill_that_raises_stops_the_unit_with_its_error() -> None:
    def broken(data: bytes, address: Any) -> None:
        raise ConnectionError("transport closed")

    ours = session(os.urandom(30))  # held: the context lives as long as the session
    with pytest.raises(ConnectionError):
        stream().send(context(ours), -1, "p", broken, b"", -1, 0, (b"x",))
