"""The send path's SRTP writer: the packets it protects in its one buffer are byte for byte
those pylibsrtp's `Session.protect` makes of `RtpStream.packets_for`'s packets, and what
the socket does not take goes to the transport, in order."""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any

import pylibsrtp
import pytest

from cloud.gateway.packetize import RtpStream
from cloud.gateway.srtpwrite import PacketTooLong, SrtpWriter, writer
from cloud.gateway.units import Unit

EXTENSION = struct.pack("!HH", 0xBEDE, 2) + b"\x10\x00\x31\x12\x34\x56\x00\x00"


def session(key: bytes) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    return pylibsrtp.Session(policy)


def stream() -> RtpStream:
    return RtpStream(
        payload_type=102,
        ssrc=0x1234ABCD,
        clock_rate=90000,
        sequence_number=65534,
        timestamp_origin=12345,
        rtx_sequence_number=7,
    )


class Recorder:
    """A socket (or transport) that keeps the datagrams it is given, cutting a GSO send as
    the kernel does, or refuses once it holds `room` (all of a GSO send or none)."""

    def __init__(self, room: int = 1 << 30, gso: OSError | None = None) -> None:
        self.room = room
        self.gso = gso
        self.sent: list[tuple[bytes, Any]] = []
        self.gso_sends = 0

    def sendto(self, data: Any, address: Any = None) -> None:
        if len(self.sent) >= self.room:
            raise BlockingIOError
        self.sent.append((bytes(data), address))

    def sendmsg(self, buffers: list[Any], ancillary: list[Any], flags: int, address: Any) -> None:
        if self.gso is not None:
            raise self.gso
        ((level, kind, value),) = ancillary
        assert (level, kind) == (socket.SOL_UDP, 103)
        (segment,) = struct.unpack("=H", value)
        data = b"".join(bytes(b) for b in buffers)
        pieces = [data[i : i + segment] for i in range(0, len(data), segment)]
        assert all(len(p) == segment for p in pieces[:-1]), "only the last may be shorter"
        if len(self.sent) + len(pieces) > self.room:
            raise BlockingIOError
        self.gso_sends += 1
        self.sent += [(p, address) for p in pieces]


def test_the_writer_protects_exactly_as_pylibsrtp_does_across_units_and_wrap() -> None:
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    old, new = stream(), stream()
    out = Recorder()
    for i, size in enumerate([2500, 800, 3900, 1299]):  # FU-A, single, FU-A, ...
        payloads = tuple(os.urandom(min(1200, size - k)) for k in range(0, size, 1200))
        unit = Unit("video", "hi", 1500 * i, b"")
        expected = [theirs.protect(p) for p in old.packets_for(unit, payloads, EXTENSION)]
        seq, timestamp = new.stamp(unit.pts, payloads)
        out.sent.clear()
        sent = writer().send_unit(
            ours, 0x90, 102, seq, timestamp, new.ssrc, EXTENSION, payloads,
            out, None, ("127.0.0.1", 9),
        )  # fmt: skip
        assert [data for data, _ in out.sent] == expected
        assert sent == sum(map(len, expected))
    assert (new.sequence_number, new.packets, new.octets) == (
        old.sequence_number,
        old.packets,
        old.octets,
    )
    assert new.retransmission(65535, b"") == old.retransmission(65535, b"")


def test_what_the_socket_does_not_take_goes_to_the_transport_in_order() -> None:
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    payloads = (os.urandom(1000), os.urandom(1000), os.urandom(999), os.urandom(500))
    expected = [
        theirs.protect(p) for p in stream().packets_for(Unit("video", "hi", 0, b""), payloads, b"")
    ]
    sock, transport = Recorder(room=3), Recorder()
    new = stream()
    seq, timestamp = new.stamp(0, payloads)
    writer().send_unit(
        ours, 0x80, 102, seq, timestamp, new.ssrc, b"", payloads, sock, transport, "peer"
    )
    assert [d for d, _ in sock.sent] == expected[:3]
    assert [d for d, _ in transport.sent] == expected[3:]
    assert {a for _, a in sock.sent + transport.sent} == {"peer"}


def fu_a_like(sizes: list[int]) -> tuple[bytes, ...]:
    return tuple(os.urandom(n) for n in sizes)


def test_runs_of_equal_sizes_go_in_one_gso_send_and_arrive_as_the_same_datagrams() -> None:
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    # Two NAL units' FU-A fragments (sizes differ by a byte at most, the larger first), a
    # single NAL between them, and a run longer than one GSO send may carry.
    payloads = fu_a_like([1001, 1001, 1000, 300, 1200, 1199, 1199] + [700] * 70 + [20])
    unit = Unit("video", "hi", 0, b"")
    expected = [theirs.protect(p) for p in stream().packets_for(unit, payloads, EXTENSION)]
    out, new = Recorder(), stream()
    seq, timestamp = new.stamp(0, payloads)
    writer().send_unit(
        ours, 0x90, 102, seq, timestamp, new.ssrc, EXTENSION, payloads, out, None, "p"
    )
    assert [d for d, _ in out.sent] == expected
    assert out.gso_sends < len(payloads) // 10


def test_a_kernel_without_gso_gets_one_datagram_at_a_time() -> None:
    key = os.urandom(30)
    theirs, ours = session(key), session(key)
    payloads = fu_a_like([900, 900, 899])
    unit = Unit("video", "hi", 0, b"")
    expected = [theirs.protect(p) for p in stream().packets_for(unit, payloads, b"")]
    out, new, w = Recorder(gso=OSError(errno.EIO, "no checksum offload")), stream(), SrtpWriter()
    seq, timestamp = new.stamp(0, payloads)
    w.send_unit(ours, 0x80, 102, seq, timestamp, new.ssrc, b"", payloads, out, None, "p")
    assert [d for d, _ in out.sent] == expected
    assert not w.gso


def test_a_packet_too_long_for_the_srtp_trailer_is_refused() -> None:
    with pytest.raises(PacketTooLong):
        SrtpWriter().write(session(os.urandom(30)), 0x80, 102, 1, 2, 3, b"", bytes(1400))


def test_a_real_socket_gets_the_protected_packets() -> None:
    key = os.urandom(30)
    rx = session(key)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with receiver, sender:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        payloads = (b"\x7c\x85" + os.urandom(900), b"\x7c\x45" + os.urandom(300))
        s = stream()
        seq, timestamp = s.stamp(3000, payloads)
        tx = session(key)
        writer().send_unit(
            tx, 0x80, 102, seq, timestamp, s.ssrc, b"", payloads, sender,
            None, receiver.getsockname(),
        )  # fmt: skip
        plain = [rx.unprotect(receiver.recv(2048)) for _ in payloads]
    assert [p[12:] for p in plain] == list(payloads)
    assert [p[1] >> 7 for p in plain] == [0, 1], "the marker on the unit's last packet"
