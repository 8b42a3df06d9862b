"""The per-viewer send loop that replaces aiortc's for passthrough (the one place that
reaches into aiortc's and aioice's internals).

Why: aiortc's `RTCRtpSender` runs one loop per viewer and track that, for every unit, makes
an `av.Packet`, has the H.264 encoder `pack()` it (splitting and re-packetizing the same
access unit once per viewer), builds and serializes an `RtpPacket` per payload and awaits
four coroutines down to the socket per packet. With a few hundred viewers that bookkeeping,
not the network, fills the core. Here each unit is packetized once (`PayloadCache`); a
viewer's loop takes its unit from its ring, writes its headers (`RtpStream`), SRTP-protects
each packet with the viewer's own session and hands it to the UDP socket of the selected
ICE pair, all without yielding to the loop in between.

Per unit and viewer, one call into C (`RtpStream.send`, _rtpout.c) numbers the packets,
writes their headers, protects them with the viewer's SRTP session in place and hands them
to the socket, runs of equal sizes in one UDP GSO send. While asyncio holds nothing back for
the socket, packets go to the socket itself rather than through the transport's `sendto` (a
page of Python per datagram); what the socket refuses, and everything while a backlog
exists, goes through the transport, so order and the backlog handling are as before.

What stays aiortc's: SDP, ICE, DTLS and SRTP keys, RTCP (sender reports, SDES, BYE, the
receiver reports' RTT/loss stats, PLI/FIR/REMB, which viewer.py hooks) and NACK handling,
which calls the `_retransmit` installed here (answered from `RtpStream`'s history, in RTX).
A pair that is not plain UDP (a TURN relay) goes through aiortc's own `_send_rtp`.

Checked against aiortc 1.16.0 and aioice 0.13.0. It replaces `RTCRtpSender._run_rtp` and
`_retransmit` on each instance and keeps the sender's name-mangled counters (packets, octets,
last RTP/NTP time: sender reports and getStats read them) and the DTLS transport's up to
date. `SharedPayloadSender` checks that those attributes exist and raises
`IncompatibleAiortc` when answering if a new aiortc renamed them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aioice.ice import CandidatePair, StunProtocol
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import HeaderExtensions

from cloud.gateway._rtpout import Seat
from cloud.gateway.packetize import (
    UNIT_CLOCK,
    AbsSendTimeBlock,
    PayloadCache,
    RtpStream,
    extension_block,
)
from cloud.gateway.srtpwrite import context as srtp_context
from cloud.gateway.units import Ring, Unit

log = logging.getLogger(__name__)

_SENDER = "_RTCRtpSender__"
_DTLS = "_RTCDtlsTransport__"
SENDER_STATE = ("rtp_started", "rtp_exited", "mid", "rtp_header_extensions_map")
SENDER_COUNTERS = ("packet_count", "octet_count", "ntp_timestamp", "rtp_timestamp")
MAX_SOCKET_BACKLOG = 256 * 1024  # bytes the socket may hold back before this viewer waits
BACKLOG_WAIT_S = 0.005
_NTP_UNIX_NS = 2_208_988_800 * 1_000_000_000  # 1900-01-01 to 1970-01-01
# aiortc's name-mangled attributes, spelled once (they are written per unit per viewer).
_PACKET_COUNT = _SENDER + "packet_count"
_OCTET_COUNT = _SENDER + "octet_count"
_NTP_TIMESTAMP = _SENDER + "ntp_timestamp"
_RTP_TIMESTAMP = _SENDER + "rtp_timestamp"
_TX_PACKETS = _DTLS + "tx_packets"
_TX_BYTES = _DTLS + "tx_bytes"


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp: aiortc's `current_ntp_time` without the
    datetime arithmetic (it ran once per unit per viewer)."""
    return ((time.time_ns() + _NTP_UNIX_NS) << 32) // 1_000_000_000


class ReportClock:
    """The NTP time each sender report pairs with its RTP timestamp: one PTS-to-wall-clock
    line per viewer, shared by its audio and video.

    aiortc pairs the last RTP timestamp with the time it was sent. An Opus packet leaves a
    frame (20 ms) after its first sample and a picture at once, so those reports told the
    browser the sound was captured 20-30 ms later than the picture of the same instant, and
    Chromium's A/V sync played it that much late. On one line, a timestamp of either kind
    means the same instant. The line starts at the first unit sent (real time then) and
    runs with the PTS, so it is exactly linear in RTP time, as the browser's estimator
    wants. RTT does not read this time (linkreports.py keys reports by it and times them
    itself); abs-send-time keeps the real send time for bandwidth estimation.
    """

    def __init__(self) -> None:
        self._anchor: tuple[int, int] | None = None  # (pts, ntp)

    @property
    def anchor(self) -> tuple[int, int] | None:
        """(PTS, NTP) where the line starts; None before the first unit."""
        return self._anchor

    def ntp(self, pts: int) -> int:
        if self._anchor is None:
            self._anchor = (pts, ntp_now())
        pts0, ntp0 = self._anchor
        return ntp0 + ((pts - pts0) << 32) // UNIT_CLOCK


class IncompatibleAiortc(RuntimeError):
    """The installed aiortc lacks an internal this send path relies on."""


class _Route:
    """Where one viewer's packets go: the selected ICE pair's UDP socket (looked up again
    only when aioice nominates another pair)."""

    __slots__ = ("_fd", "address", "backlog", "carrier", "direct", "pair", "sendto", "udp")

    def __init__(self, pair: CandidatePair | None) -> None:
        self.pair = pair
        udp = pair.protocol.transport if pair is not None else None
        # A TURN pair (or none yet) goes through aiortc's own `_send_rtp`.
        self.direct = udp is not None and type(pair.protocol) is StunProtocol  # type: ignore[union-attr]
        self.sendto: Any = udp.sendto if udp is not None else None
        self.address: Any = pair.remote_addr if pair is not None else None
        # Bytes the event loop holds for a socket that would block (asyncio and uvloop both
        # have it); no drain event exists for a datagram socket, so the loop polls it.
        self.backlog: Any = getattr(udp, "get_write_buffer_size", None)
        # The transport whose socket the packets leave by (udpmux's shared one, or the
        # pair's own), and that socket's descriptor, to send on directly while the loop holds
        # nothing back for it (asyncio's and uvloop's transports both give the socket).
        self.udp: Any = udp
        self.carrier: Any = None
        self._fd = -1
        if self.direct:
            shared = getattr(udp, "sending_transport", None)
            self.carrier = shared() if shared is not None else udp
            sock = self.carrier.get_extra_info("socket") if self.carrier is not None else None
            self._fd = int(sock.fileno()) if sock is not None else -1

    def backed_up(self) -> bool:
        return self.backlog is not None and int(self.backlog()) > MAX_SOCKET_BACKLOG

    def fd(self) -> int:
        """The socket's file descriptor to send on directly now; -1: through the transport
        (checked per unit, so what the loop holds back always goes first)."""
        carrier = self.carrier
        if carrier is None or self.udp.is_closing() or carrier.is_closing():
            return -1
        return -1 if carrier.get_write_buffer_size() else self._fd


class SharedPayloadSender:
    """Drives one aiortc `RTCRtpSender` from a ring of units. Create it after
    `addTransceiver` and before the connection starts the sender."""

    def __init__(
        self,
        sender: RTCRtpSender,
        ring: Ring[Unit],
        payloads: PayloadCache,
        reports: ReportClock | None = None,
    ) -> None:
        state = vars(sender)
        missing = [n for n in (*SENDER_STATE, *SENDER_COUNTERS) if _SENDER + n not in state]
        if missing or not callable(getattr(sender, "_retransmit", None)):
            raise IncompatibleAiortc(f"aiortc's RTCRtpSender has no {missing or '_retransmit'}")
        self._sender = sender
        self._state = state
        self._ring = ring
        self._payloads = payloads
        self._reports = reports or ReportClock()
        self._stream: RtpStream | None = None
        self._extensions: Any = state[_SENDER + "rtp_header_extensions_map"]
        self._block: AbsSendTimeBlock | None = None
        self._route = _Route(None)
        self._dtls: RTCDtlsTransport | None = None  # set once aiortc starts the sender
        self._srtp: tuple[object, int] = (None, 0)  # (session, its context's address)
        self._nominated: dict[int, CandidatePair] = {}
        self._holding = False  # the loop has a unit from the ring that is not sent yet
        # (id, value) elements aiortc does not know, added to every packet; set before the
        # connection starts the sender.
        self.extra_extensions: list[tuple[int, bytes]] = []
        # aiortc's send() starts `self._run_rtp(codec)`; NACKs call `self._retransmit(seq)`.
        sender._run_rtp = self._run  # type: ignore[method-assign]
        sender._retransmit = self._retransmit  # type: ignore[method-assign]

    @property
    def stream(self) -> RtpStream | None:
        return self._stream

    def _slow_extension(self, abs_send_time: int) -> bytes:
        values = HeaderExtensions()
        values.mid = self._state[_SENDER + "mid"]
        values.abs_send_time = abs_send_time
        profile, value = self._extensions.set(values)
        return extension_block(profile, value, self.extra_extensions)

    def _extension_block(self) -> AbsSendTimeBlock:
        block = self._block
        if block is None:  # the map is configured once aiortc starts the sender
            block = self._block = AbsSendTimeBlock(self._slow_extension)
        return block

    def _extension(self, ntp: int) -> bytes:
        return self._extension_block()((ntp >> 14) & 0x00FFFFFF)

    def send_now(self, unit: Unit) -> bool:
        """Send `unit` at once if it can go straight to the UDP socket (the tap's sink,
        called on the loop while the ring is empty); False: the ring should queue it."""
        stream, dtls = self._stream, self._dtls
        if stream is None or dtls is None or self._holding or self._ring.closed:
            return False
        if dtls._state is not DtlsState.CONNECTED:
            return False  # the loop finds out and ends
        route = self._route
        if self._nominated.get(1) is not route.pair:
            route = self._current_route()
        if not route.direct:
            return False
        fd = route.fd()
        if fd < 0 and route.backed_up():
            return False
        try:
            self._send_direct(dtls, route, stream, unit, fd)
        except Exception:  # never into the feed's fan-out: this viewer stops, no other
            log.exception("RTP send failed")
            self._holding = True
            self._ring.close()  # the loop ends (the track stops) once it sees this
        return True

    def seat(
        self, owner: object, audio: bool, offset: int, last_pts: int, last_src: int
    ) -> Seat | None:
        """This track's seat in a lane (feed.py), starting from the tap's PTS line where it
        is; None while it cannot take one: not started or not connected, a unit in hand or
        queued, a TURN pair, a socket held back, or no unit sent yet (the report line)."""
        stream, dtls, anchor = self._stream, self._dtls, self._reports.anchor
        if stream is None or dtls is None or anchor is None or self._holding or len(self._ring):
            return None
        if self._ring.closed or dtls._state is not DtlsState.CONNECTED:
            return None
        route = self._current_route()
        fd = route.fd() if route.direct else -1
        if fd < 0:
            return None
        session, context = self._srtp_context(dtls)
        block = self._extension_block()
        try:
            return Seat(
                owner=owner,
                stream=stream,
                session=session,
                context=context,
                fd=fd,
                address=route.address,
                spill=route.sendto,
                extension=block.template,
                abs_at=block.at,
                audio=audio,
                dtls=dtls,
                connected=DtlsState.CONNECTED,
                nominated=self._nominated,
                pair=route.pair,
                carrier=route.carrier,
                sender_state=self._state,
                dtls_state=vars(dtls),
                anchor_pts=anchor[0],
                anchor_ntp=anchor[1],
                offset=offset,
                last_pts=last_pts,
                last_src=last_src,
            )
        except ValueError:  # not a numeric address: the transport's path only
            return None

    def _current_route(self) -> _Route:
        route = self._route
        pair = self._nominated.get(1)
        if pair is not route.pair:
            route = self._route = _Route(pair)
        return route

    async def _run(self, codec: RTCRtpCodecParameters) -> None:
        state = self._state
        state[_SENDER + "rtp_started"].set()
        try:
            if codec.payloadType is None:
                raise IncompatibleAiortc("the negotiated codec has no payload type")
            dtls = self._dtls = self._sender.transport
            self._nominated = dtls.transport._connection._nominated
            stream = self._stream = RtpStream(
                payload_type=codec.payloadType,
                ssrc=self._sender._ssrc,
                clock_rate=codec.clockRate,
                rtx_payload_type=state.get(_SENDER + "rtx_payload_type"),
                rtx_ssrc=self._sender._rtx_ssrc,
            )
            ring = self._ring
            while True:
                unit = await ring.get()
                if unit is None:
                    break
                self._holding = True
                if dtls._state is not DtlsState.CONNECTED:
                    raise ConnectionError("DTLS is not connected")
                route = self._current_route()
                if route.direct and route.backed_up():
                    # The ring fills meanwhile, and the tap drops, counts and resumes at an IDR.
                    while route.backed_up() and not ring.closed:  # noqa: ASYNC110
                        await asyncio.sleep(BACKLOG_WAIT_S)
                if route.direct:
                    self._send_direct(dtls, route, stream, unit, route.fd())
                else:
                    await self._send_via_aiortc(dtls, stream, unit)
                self._holding = False
        except (asyncio.CancelledError, ConnectionError, MediaStreamError):
            pass
        except Exception:
            log.exception("RTP send loop failed")
        finally:
            self._stream_ended()

    def _stream_ended(self) -> None:
        self._holding = True  # nothing more goes out through send_now either
        track = self._sender.track
        if track is not None:
            track.stop()
        self._state[_SENDER + "rtp_exited"].set()

    def _srtp_context(self, dtls: RTCDtlsTransport) -> tuple[object, int]:
        """The DTLS transport's SRTP session and its libsrtp context's address (which lives
        as long as the session)."""
        session, context = self._srtp
        if session is not dtls._tx_srtp:  # set once, when DTLS completes
            session = dtls._tx_srtp
            context = srtp_context(session)
            self._srtp = (session, context)
        return session, context

    def _send_direct(
        self, dtls: RTCDtlsTransport, route: _Route, stream: RtpStream, unit: Unit, fd: int
    ) -> None:
        """Every packet of `unit`, SRTP-protected, to the UDP socket: no await in between.
        `fd`: the route's socket to send on directly, -1 to go through its transport."""
        payloads = self._payloads.payloads(unit)
        block = self._extension_block()
        _, context = self._srtp_context(dtls)
        sent = stream.send(
            context, fd, route.address, route.sendto, block.template, block.at, unit.pts, payloads
        )
        counters = vars(dtls)  # its getStats "transport" numbers
        counters[_TX_PACKETS] = counters.get(_TX_PACKETS, 0) + len(payloads)
        counters[_TX_BYTES] = counters.get(_TX_BYTES, 0) + sent
        self._sent(stream, unit)

    async def _send_via_aiortc(self, dtls: RTCDtlsTransport, stream: RtpStream, unit: Unit) -> None:
        packets = self._packets(stream, unit)
        for packet in packets:
            await dtls._send_rtp(packet)
        self._sent(stream, unit)

    def _packets(self, stream: RtpStream, unit: Unit) -> list[bytes]:
        """`unit`'s RTP packets for this viewer, stamped with the real send time."""
        extension = self._extension(ntp_now())
        return stream.packets_for(unit, self._payloads.payloads(unit), extension)

    def _sent(self, stream: RtpStream, unit: Unit) -> None:
        # What aiortc's sender reports (RTCP SR, getStats) read.
        state = self._state
        state[_NTP_TIMESTAMP] = self._reports.ntp(unit.pts)
        state[_RTP_TIMESTAMP] = stream.last_timestamp
        state[_PACKET_COUNT] = stream.packets
        state[_OCTET_COUNT] = stream.octets

    async def _retransmit(self, sequence_number: int) -> None:
        stream = self._stream
        if stream is None:
            return
        packet = stream.retransmission(sequence_number, self._extension(ntp_now()))
        if packet is not None:
            await self._sender.transport._send_rtp(packet)
