"""Seated viewers (`_rtpout.Lane`, feed.py): one unit goes to every seat in one call, each on
its own tap's PTS line, decrypting with its own SRTP key on a real socket; a seat that can no
longer send leaves and its tap goes on through `Tap.offer` without a gap or a repeat."""

from __future__ import annotations

import gc
import os
import socket
import struct
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
import pytest

from cloud.gateway._rtpout import Lane, Seat
from cloud.gateway.feed import SessionFeed, Tap
from cloud.gateway.packetize import RtpStream
from cloud.gateway.srtpwrite import context
from cloud.gateway.units import Unit

CONNECTED, CLOSED = object(), object()
ANCHOR_NTP = 0xE000_0000_0000_0000


class Dtls:
    def __init__(self) -> None:
        self._state = CONNECTED


class Carrier:
    """What a seat asks of the transport its socket belongs to."""

    def __init__(self) -> None:
        self.held = 0
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.held


@dataclass
class Viewer:
    """One viewer's track: a receiving socket, its SRTP keys and what a seat needs."""

    audio: bool = False
    key: bytes = field(default_factory=lambda: os.urandom(30))
    spilled: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.into = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.into.bind(("127.0.0.1", 0))
        self.into.settimeout(2)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.session = pylibsrtp.Session(
            pylibsrtp.Policy(key=self.key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        )
        self.receiver = pylibsrtp.Session(
            pylibsrtp.Policy(key=self.key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
        )
        rate = 48000 if self.audio else 90000
        self.stream = RtpStream(
            payload_type=111 if self.audio else 102, ssrc=7, clock_rate=rate, timestamp_origin=0
        )
        self.dtls, self.carrier, self.pair = Dtls(), Carrier(), object()
        self.nominated: dict[int, object] = {1: self.pair}
        self.sender_state: dict[str, Any] = {}
        self.dtls_state: dict[str, Any] = {}

    def fields(
        self, owner: object, offset: int = 0, last_pts: int = -1, last_src: int = -1
    ) -> dict[str, Any]:
        """A seat's arguments, for tests that change one."""
        return {
            "owner": owner,
            "stream": self.stream,
            "session": self.session,
            "context": context(self.session),
            "fd": self.out.fileno(),
            "address": self.into.getsockname(),
            "spill": lambda data, address: self.spilled.append(data),
            "extension": b"",
            "abs_at": -1,
            "audio": self.audio,
            "dtls": self.dtls,
            "connected": CONNECTED,
            "nominated": self.nominated,
            "pair": self.pair,
            "carrier": self.carrier,
            "sender_state": self.sender_state,
            "dtls_state": self.dtls_state,
            "anchor_pts": 0,
            "anchor_ntp": ANCHOR_NTP,
            "offset": offset,
            "last_pts": last_pts,
            "last_src": last_src,
        }

    def seat(self, owner: object, offset: int = 0, last_pts: int = -1, last_src: int = -1) -> Seat:
        return Seat(**self.fields(owner, offset, last_pts, last_src))

    def packets(self, count: int) -> list[tuple[int, int, int, bytes]]:
        """(marker, sequence number, timestamp, payload) of the next `count` datagrams."""
        out = []
        for _ in range(count):
            packet = self.receiver.unprotect(self.into.recv(2048))
            b1, seq, timestamp = struct.unpack("!xBHI", packet[:8])
            out.append((b1 >> 7, seq, timestamp, packet[12:]))
        return out

    def nothing_more(self) -> bool:
        self.into.settimeout(0.05)
        try:
            self.into.recv(2048)
        except TimeoutError:
            return True
        finally:
            self.into.settimeout(2)
        return False

    def close(self) -> None:
        self.into.close()
        self.out.close()


@pytest.fixture
def viewers() -> Iterator[list[Viewer]]:
    made: list[Viewer] = []
    yield made
    for viewer in made:
        viewer.close()


def test_one_call_sends_a_unit_to_every_seat_on_its_own_line(viewers: list[Viewer]) -> None:
    viewers += [Viewer(), Viewer()]
    lane = Lane()
    lane.add(viewers[0].seat("first"))
    lane.add(viewers[1].seat("second", offset=3000))  # moved on by a switch
    payloads = (b"a" * 1200, b"b" * 1200, b"c" * 300)
    assert lane.send(9000, payloads) == []
    first, second = viewers[0].packets(3), viewers[1].packets(3)
    assert [p[3] for p in first] == [p[3] for p in second] == list(payloads)
    assert [p[0] for p in first] == [0, 0, 1], "the marker ends the frame"
    assert {p[2] for p in first} == {9000} and {p[2] for p in second} == {12000}
    for viewer, packets in zip(viewers, (first, second), strict=True):
        after = viewer.stream.sequence_number  # each its own numbering
        assert [p[1] for p in packets] == [(after - 3 + i) & 0xFFFF for i in range(3)]
    lane.send(9000, payloads)  # not past what was sent: nobody gets it twice
    assert viewers[0].nothing_more() and viewers[1].nothing_more()
    lane.sync()
    state = viewers[1].sender_state
    assert state["_RTCRtpSender__packet_count"] == 3
    assert state["_RTCRtpSender__rtp_timestamp"] == 12000
    assert state["_RTCRtpSender__ntp_timestamp"] == ANCHOR_NTP + (12000 << 32) // 90000
    assert viewers[1].dtls_state["_RTCDtlsTransport__tx_packets"] == 3


def test_audio_skips_an_instant_sent_from_the_other_layer(viewers: list[Viewer]) -> None:
    viewers.append(Viewer(audio=True))
    lane = Lane()
    lane.add(viewers[0].seat("tap", last_pts=3600, last_src=3600))
    lane.send(3600, (b"old",))
    lane.send(5400, (b"new",))
    ((_, _, timestamp, payload),) = viewers[0].packets(1)
    assert (payload, timestamp) == (b"new", 5400 * 48000 // 90000)
    assert viewers[0].nothing_more()


@pytest.mark.parametrize("change", ["dtls", "pair", "held", "closing"])
def test_a_seat_that_may_no_longer_send_leaves_before_the_unit(
    viewers: list[Viewer], change: str
) -> None:
    viewers += [Viewer(), Viewer()]
    lane = Lane()
    gone, kept = viewers[0].seat("gone"), viewers[1].seat("kept")
    lane.add(gone)
    lane.add(kept)
    if change == "dtls":
        viewers[0].dtls._state = CLOSED
    elif change == "pair":
        viewers[0].nominated[1] = object()
    elif change == "held":
        viewers[0].carrier.held = 1200
    else:
        viewers[0].carrier.closing = True
    assert lane.send(0, (b"x",)) == [gone]
    assert not gone.took and gone.error is None and gone.last_pts == -1
    assert viewers[0].nothing_more() and len(viewers[1].packets(1)) == 1
    assert lane.seats == [kept]


def test_a_failing_viewer_leaves_with_its_error_and_the_others_still_get_the_unit(
    viewers: list[Viewer],
) -> None:
    viewers += [Viewer(), Viewer(), Viewer()]
    lane = Lane()
    read, write = os.pipe()  # not a socket: every datagram spills, and this spill raises
    try:
        broken = viewers[1].seat("broken")
        seats = [viewers[0].seat("a"), broken, viewers[2].seat("c")]
        for seat in seats:
            lane.add(seat)

        def refuse(data: bytes, address: Any) -> None:
            raise ConnectionError("transport closed")

        bad = Seat(**{**viewers[1].fields("bad"), "fd": write, "spill": refuse})
        lane.remove(broken)
        lane.add(bad)
        assert lane.send(0, (b"x",)) == [bad]
    finally:
        os.close(read)
        os.close(write)
    assert isinstance(bad.error, ConnectionError) and bad.took
    assert len(viewers[0].packets(1)) == len(viewers[2].packets(1)) == 1
    assert len(lane) == 2


def test_a_seat_is_refused_without_a_socket_or_a_numeric_address(viewers: list[Viewer]) -> None:
    viewers.append(Viewer())
    with pytest.raises(ValueError):
        Seat(**{**viewers[0].fields("x"), "fd": -1})
    with pytest.raises(ValueError):
        Seat(**{**viewers[0].fields("x"), "address": ("viewer.example", 9)})
    with pytest.raises(TypeError):
        Lane().add("not a seat")  # type: ignore[arg-type]


# --- the feed: taps seated while steady, back to `offer` when not ---------------------------


def v(layer: str, pts: int, idr: bool = False) -> Unit:
    nal = b"\x65" if idr else b"\x41"
    return Unit("video", layer, pts, b"\x00\x00\x00\x01" + nal + os.urandom(20), idr)


class Seats:
    """A tap's seat makers over real viewers (one per track), as rtpsend's `seat` is."""

    def __init__(self, video: Viewer, ready: bool = True) -> None:
        self.video, self.ready = video, ready

    def __call__(
        self, tap: Tap, audio: bool, offset: int, last_pts: int, last_src: int
    ) -> Seat | None:
        return self.video.seat(tap, offset, last_pts, last_src) if self.ready else None


def steady_tap(viewer: Viewer) -> tuple[Tap, list[Unit]]:
    """A tap whose sink takes every unit offered to it (as rtpsend's `send_now` does)."""
    tap = Tap("hi", lambda layer, reason: None)
    tap.audio_wanted = False
    tap.video_seat = Seats(viewer)
    offered: list[Unit] = []

    def take(unit: Unit) -> bool:
        offered.append(unit)
        return True

    tap.video_sink = take
    return tap, offered


def test_a_steady_tap_is_seated_and_goes_back_to_offer_for_a_switch(
    viewers: list[Viewer],
) -> None:
    viewers.append(Viewer())
    feed = SessionFeed("s")
    tap, offered = steady_tap(viewers[0])
    feed.join(tap)
    feed.publish(v("hi", 0, idr=True))  # through offer, then seated: steady
    assert [u.pts for u in offered] == [0] and feed.seated == 1
    feed.publish(v("hi", 1500))
    feed.publish(v("lo", 1500, idr=True))
    feed.publish(v("hi", 3000))
    assert [p[2] for p in viewers[0].packets(2)] == [1500, 3000], "by the lane"
    assert len(offered) == 1
    tap.want("lo", "quality")
    assert feed.seated == 0 and tap.unseat is None
    feed.publish(v("hi", 4500))  # hi goes on until lo's IDR
    feed.publish(v("lo", 4500, idr=True))  # the switch: its line goes on past 4500
    assert [(u.layer, u.pts) for u in offered[1:2]] == [("hi", 4500)]
    assert [(u.layer, u.pts > 4500) for u in offered[2:]] == [("lo", True)]
    assert feed.seated == 1, "steady again, on lo"
    feed.publish(v("lo", 7500))
    ((_, _, timestamp, _),) = viewers[0].packets(1)
    assert timestamp == offered[-1].pts + 3000
    assert viewers[0].nothing_more()


def test_a_seat_that_leaves_hands_the_unit_back_to_its_tap(viewers: list[Viewer]) -> None:
    viewers.append(Viewer())
    feed = SessionFeed("s")
    tap, offered = steady_tap(viewers[0])
    feed.join(tap)
    feed.publish(v("hi", 0, idr=True))
    assert feed.seated == 1
    viewers[0].carrier.held = 5000  # the socket backs up
    tap.video_seat = Seats(viewers[0], ready=False)
    feed.publish(v("hi", 1500))
    assert feed.seated == 0
    assert [u.pts for u in offered] == [0, 1500], "offered to the tap, not lost"
    assert viewers[0].nothing_more()
    feed.leave(tap)
    assert not feed.taps and tap.unseat is None


def test_a_feed_dropped_with_seated_taps_is_collected(viewers: list[Viewer]) -> None:
    viewers.append(Viewer())
    feed = SessionFeed("s")
    tap, _ = steady_tap(viewers[0])
    feed.join(tap)
    feed.publish(v("hi", 0, idr=True))
    assert feed.seated == 1  # feed -> seat -> tap -> its unseat hook -> feed: a cycle
    gone = weakref.ref(tap)
    del feed, tap
    gc.collect()
    assert gone() is None
