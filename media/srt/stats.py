"""SrtStats: the link-health numbers the sender, the gateway and the UI need, from srt_bistats."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from . import handle
from .lib import srt
from .structs import CBytePerfMon

# libsrt promises to only append fields to CBytePerfMon; a newer libsrt writing a longer
# struct must not scribble past our buffer, so give it generous room.
_HEADROOM = 1024


@dataclass(frozen=True)
class SrtStats:
    """One snapshot of a connection. Counters are totals since connect unless named
    `interval_*` (since the previous `stats(clear=True)`); rates are over that interval."""

    elapsed_ms: int
    rtt_ms: float
    send_rate_mbps: float
    recv_rate_mbps: float
    bandwidth_mbps: float
    """libsrt's estimate of the link capacity (packet-pair probing)."""
    pkt_sent: int
    pkt_recv: int
    pkt_snd_loss: int
    """Packets the peer reported lost (NAKs) while we sent."""
    pkt_rcv_loss: int
    """Packets missing on arrival here (before any retransmission)."""
    pkt_retrans: int
    pkt_snd_drop: int
    """Packets we dropped as too late to send."""
    pkt_rcv_drop: int
    """Packets never delivered here because they were too late to play."""
    pkt_rcv_undecrypt: int
    """Packets that could not be decrypted (a key mismatch shows up here)."""
    bytes_sent: int
    bytes_recv: int
    interval_pkt_sent: int
    interval_pkt_recv: int
    interval_pkt_snd_loss: int
    interval_pkt_rcv_loss: int
    interval_pkt_retrans: int
    flight_size: int
    """Packets sent and not yet acknowledged."""
    snd_buf_ms: int
    rcv_buf_ms: int
    """Timespan of media buffered unacknowledged (send) or undelivered (receive)."""
    snd_latency_ms: int
    rcv_latency_ms: int
    """The TSBPD delays the two sides agreed on during the handshake."""
    pkt_recv_ack: int = 0
    """ACKs received since connect: a sender whose ACKs stop has lost its peer."""
    pkt_snd_filter_extra: int = 0
    """Packets the packet filter (FEC) added to what we sent: its bandwidth cost."""
    pkt_rcv_filter_extra: int = 0
    """Filter (FEC) control packets received."""
    pkt_rcv_filter_supply: int = 0
    """Packets the filter rebuilt here without a retransmission."""
    pkt_rcv_filter_loss: int = 0
    """Packets the filter could not rebuild (left to retransmission, or lost)."""

    @property
    def pkt_rcv_unrecovered(self) -> int:
        """Packets this receiver never got in time, by retransmission or FEC: each is a
        hole in the stream (too late to play, or not decryptable)."""
        return self.pkt_rcv_drop + self.pkt_rcv_undecrypt

    @classmethod
    def from_perfmon(cls, p: CBytePerfMon) -> SrtStats:
        return cls(
            elapsed_ms=p.msTimeStamp,
            rtt_ms=p.msRTT,
            send_rate_mbps=p.mbpsSendRate,
            recv_rate_mbps=p.mbpsRecvRate,
            bandwidth_mbps=p.mbpsBandwidth,
            pkt_sent=p.pktSentTotal,
            pkt_recv=p.pktRecvTotal,
            pkt_snd_loss=p.pktSndLossTotal,
            pkt_rcv_loss=p.pktRcvLossTotal,
            pkt_retrans=p.pktRetransTotal,
            pkt_snd_drop=p.pktSndDropTotal,
            pkt_rcv_drop=p.pktRcvDropTotal,
            pkt_rcv_undecrypt=p.pktRcvUndecryptTotal,
            bytes_sent=p.byteSentTotal,
            bytes_recv=p.byteRecvTotal,
            interval_pkt_sent=p.pktSent,
            interval_pkt_recv=p.pktRecv,
            interval_pkt_snd_loss=p.pktSndLoss,
            interval_pkt_rcv_loss=p.pktRcvLoss,
            interval_pkt_retrans=p.pktRetrans,
            flight_size=p.pktFlightSize,
            snd_buf_ms=p.msSndBuf,
            rcv_buf_ms=p.msRcvBuf,
            snd_latency_ms=p.msSndTsbPdDelay,
            rcv_latency_ms=p.msRcvTsbPdDelay,
            pkt_recv_ack=p.pktRecvACKTotal,
            pkt_snd_filter_extra=p.pktSndFilterExtraTotal,
            pkt_rcv_filter_extra=p.pktRcvFilterExtraTotal,
            pkt_rcv_filter_supply=p.pktRcvFilterSupplyTotal,
            pkt_rcv_filter_loss=p.pktRcvFilterLossTotal,
        )


def read_stats(sock: int, *, clear: bool = False) -> SrtStats:
    """srt_bistats with instantaneous buffer figures (not moving averages)."""
    buf = ctypes.create_string_buffer(ctypes.sizeof(CBytePerfMon) + _HEADROOM)
    perf = CBytePerfMon.from_buffer(buf)
    handle.check(
        int(srt().srt_bistats(sock, ctypes.byref(perf), int(clear), 1)), "srt_bistats", sock
    )
    return SrtStats.from_perfmon(perf)
