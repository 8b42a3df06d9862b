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
from typing import Any

from aioice.ice import StunProtocol
from aiortc import RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import HeaderExtensions

from cloud.gateway.packetize import PayloadCache, RtpStream, extension_block
from cloud.gateway.units import Ring, Unit

log = logging.getLogger(__name__)

_SENDER = "_RTCRtpSender__"
_DTLS = "_RTCDtlsTransport__"
SENDER_STATE = ("rtp_started", "rtp_exited", "mid", "rtp_header_extensions_map")
SENDER_COUNTERS = ("packet_count", "octet_count", "ntp_timestamp", "rtp_timestamp")
DTLS_COUNTERS = ("tx_packets", "tx_bytes")
MAX_SOCKET_BACKLOG = 256 * 1024  # bytes the socket may hold back before this viewer waits
BACKLOG_WAIT_S = 0.005


def _backlog(udp: object) -> int:
    """Bytes the event loop holds for a socket that would block (asyncio and uvloop)."""
    size = getattr(udp, "get_write_buffer_size", None)
    return int(size()) if size is not None else 0


class IncompatibleAiortc(RuntimeError):
    """The installed aiortc lacks an internal this send path relies on."""


class SharedPayloadSender:
    """Drives one aiortc `RTCRtpSender` from a ring of units. Create it after
    `addTransceiver` and before the connection starts the sender."""

    def __init__(self, sender: RTCRtpSender, ring: Ring[Unit], payloads: PayloadCache) -> None:
        state = vars(sender)
        missing = [n for n in (*SENDER_STATE, *SENDER_COUNTERS) if _SENDER + n not in state]
        if missing or not callable(getattr(sender, "_retransmit", None)):
            raise IncompatibleAiortc(f"aiortc's RTCRtpSender has no {missing or '_retransmit'}")
        self._sender = sender
        self._state = state
        self._ring = ring
        self._payloads = payloads
        self._stream: RtpStream | None = None
        self._extensions: Any = state[_SENDER + "rtp_header_extensions_map"]
        # aiortc's send() starts `self._run_rtp(codec)`; NACKs call `self._retransmit(seq)`.
        sender._run_rtp = self._run  # type: ignore[method-assign]
        sender._retransmit = self._retransmit  # type: ignore[method-assign]

    @property
    def stream(self) -> RtpStream | None:
        return self._stream

    def _extension(self, ntp: int) -> bytes:
        values = HeaderExtensions()
        values.mid = self._state[_SENDER + "mid"]
        values.abs_send_time = (ntp >> 14) & 0x00FFFFFF
        return extension_block(*self._extensions.set(values))

    async def _run(self, codec: RTCRtpCodecParameters) -> None:
        state = self._state
        state[_SENDER + "rtp_started"].set()
        try:
            if codec.payloadType is None:
                raise IncompatibleAiortc("the negotiated codec has no payload type")
            self._stream = RtpStream(
                payload_type=codec.payloadType,
                ssrc=self._sender._ssrc,
                clock_rate=codec.clockRate,
                rtx_payload_type=state.get(_SENDER + "rtx_payload_type"),
                rtx_ssrc=self._sender._rtx_ssrc,
            )
            while True:
                unit = await self._ring.get()
                if unit is None:
                    break
                await self._send(self._stream, unit)
        except (asyncio.CancelledError, ConnectionError, MediaStreamError):
            pass
        except Exception:
            log.exception("RTP send loop failed")
        finally:
            track = self._sender.track
            if track is not None:
                track.stop()
            state[_SENDER + "rtp_exited"].set()

    async def _send(self, stream: RtpStream, unit: Unit) -> None:
        dtls = self._sender.transport
        if dtls.state != "connected":
            raise ConnectionError("DTLS is not connected")
        ntp = current_ntp_time()
        packets = stream.packets_for(unit, self._payloads.payloads(unit), self._extension(ntp))
        sent = 0
        pair = dtls.transport._connection._nominated.get(1)
        udp = pair.protocol.transport if pair is not None else None
        if pair is not None and udp is not None and type(pair.protocol) is StunProtocol:
            # No drain event exists for a datagram socket: poll while the kernel is full. The
            # ring fills meanwhile, and the tap drops, counts and resumes at an IDR.
            while _backlog(udp) > MAX_SOCKET_BACKLOG and not self._ring.closed:  # noqa: ASYNC110
                await asyncio.sleep(BACKLOG_WAIT_S)
            protect = dtls._tx_srtp.protect
            sendto = udp.sendto
            address = pair.remote_addr
            for packet in packets:
                data = protect(packet)
                sendto(data, address)
                sent += len(data)
            counters = vars(dtls)  # its getStats "transport" numbers
            for name, value in zip(DTLS_COUNTERS, (len(packets), sent), strict=True):
                counters[_DTLS + name] = counters.get(_DTLS + name, 0) + value
        else:
            for packet in packets:
                await dtls._send_rtp(packet)  # a TURN pair, or none yet: aiortc's own path
        state = self._state
        state[_SENDER + "ntp_timestamp"] = ntp
        state[_SENDER + "rtp_timestamp"] = stream.last_timestamp
        state[_SENDER + "packet_count"] = stream.packets
        state[_SENDER + "octet_count"] = stream.octets

    async def _retransmit(self, sequence_number: int) -> None:
        stream = self._stream
        if stream is None:
            return
        packet = stream.retransmission(sequence_number, self._extension(current_ntp_time()))
        if packet is not None:
            await self._sender.transport._send_rtp(packet)
