"""Loss and round-trip time of one viewer's video, read from its RTCP receiver reports as
they arrive (RFC 3550 §6.4), for the quality manager.

aiortc's `getStats()` would give the same two numbers, but it builds a whole report (every
sender, the transport, the certificates) on each call; at one call per viewer per second
that was a visible share of the gateway's loop. Here a report block costs a dict lookup.

RTT: aiortc's sender reports carry the NTP time of the last RTP packet sent, not of the
report itself, so "arrival - LSR - DLSR" would add the time from that packet to the report
(up to a frame, or any length while no publisher sends). The send time of each report is
kept instead, by the LSR the receiver echoes: RTT = arrival - sent - DLSR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket, RtcpSrPacket

SENT_MEMORY = 8  # sender reports remembered (one a second: a receiver echoes a recent one)
RTT_ALPHA = 0.85  # the smoothing aiortc applies (and getStats reported before)


def lsr_of(ntp_timestamp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp: what a receiver report echoes as LSR."""
    return (ntp_timestamp >> 16) & 0xFFFFFFFF


@dataclass
class LinkReports:
    """What the receiver reports say about one RTP stream (`ssrc`): the latest fraction lost
    and a smoothed RTT; None until a report says."""

    ssrc: int
    loss: float | None = None
    rtt_ms: float | None = None
    reports: int = 0
    _sent: dict[int, float] = field(default_factory=dict, repr=False)  # LSR -> sent at

    def sender_report_sent(self, ntp_timestamp: int, at: float) -> None:
        """A sender report for this stream went out at `at` (seconds, any monotonic clock)."""
        self._sent.pop(lsr_of(ntp_timestamp), None)  # re-sent with the same time: keep last
        self._sent[lsr_of(ntp_timestamp)] = at
        while len(self._sent) > SENT_MEMORY:
            del self._sent[next(iter(self._sent))]

    def received(self, packet: RtcpRrPacket | RtcpSrPacket, at: float) -> RtcpReceiverInfo | None:
        """Take in a receiver (or sender) report that arrived at `at` (same clock as
        `sender_report_sent`); returns its block about this stream, if it has one."""
        block = next((r for r in packet.reports if r.ssrc == self.ssrc), None)
        if block is None:
            return None
        self.reports += 1
        self.loss = block.fraction_lost / 256.0
        sent = self._sent.get(block.lsr) if block.lsr else None  # 0: no report received yet
        if sent is not None:
            rtt_ms = max(0.0, at - sent - block.dlsr / 65536.0) * 1000.0
            self.rtt_ms = (
                rtt_ms
                if self.rtt_ms is None
                else RTT_ALPHA * self.rtt_ms + (1 - RTT_ALPHA) * rtt_ms
            )
        return block
