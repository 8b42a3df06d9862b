"""Loss and RTT for the quality manager, from receiver reports as they arrive: real RTCP
bytes, parsed by aiortc as the gateway receives them."""

from __future__ import annotations

import struct

from aiortc.rtp import RtcpPacket, RtcpRrPacket, RtcpSrPacket

from cloud.gateway.linkreports import SENT_MEMORY, LinkReports, lsr_of

VIDEO_SSRC = 0x11223344
AUDIO_SSRC = 0x55667788
NTP = (3_970_000_000 << 32) | 0x8000_0000  # an SR's NTP timestamp (…x.5 s)


def block(ssrc: int, fraction_lost: int, lsr: int, dlsr_s: float) -> bytes:
    """One RFC 3550 report block: ssrc, fraction lost, cumulative lost (24 bits), highest
    sequence number, jitter, LSR, DLSR (1/65536 s)."""
    return struct.pack(
        "!IB3sIIII", ssrc, fraction_lost, (40).to_bytes(3, "big"), 70_000, 12, lsr,
        round(dlsr_s * 65536),
    )  # fmt: skip


def receiver_report(*blocks: bytes) -> RtcpRrPacket:
    body = struct.pack("!I", 0xCAFE) + b"".join(blocks)
    data = struct.pack("!BBH", 0x80 | len(blocks), 201, len(body) // 4) + body
    (packet,) = RtcpPacket.parse(data)
    assert isinstance(packet, RtcpRrPacket)
    return packet


def test_loss_and_rtt_come_from_the_block_about_the_stream() -> None:
    link = LinkReports(VIDEO_SSRC)
    link.sender_report_sent(NTP, at=100.0)
    rr = receiver_report(
        block(AUDIO_SSRC, 200, lsr_of(NTP), 0.1),
        block(VIDEO_SSRC, 13, lsr_of(NTP), 0.25),  # 13/256 = 5.1 % lost
    )
    got = link.received(rr, at=100.30)
    assert got is not None and got.ssrc == VIDEO_SSRC
    assert link.loss == 13 / 256
    assert link.rtt_ms is not None and abs(link.rtt_ms - 50.0) < 0.1  # 300 - 250 ms held
    assert link.reports == 1


def test_rtt_is_smoothed_like_aiortcs_and_follows_the_echoed_report() -> None:
    link = LinkReports(VIDEO_SSRC)
    later = NTP + (1 << 32)  # the next SR, one second on
    link.sender_report_sent(NTP, at=100.0)
    link.sender_report_sent(later, at=101.0)
    # A report that crossed the newer SR still echoes the older one: measured against it.
    link.received(receiver_report(block(VIDEO_SSRC, 0, lsr_of(NTP), 0.95)), at=101.0)
    assert link.rtt_ms is not None and abs(link.rtt_ms - 50.0) < 0.1
    link.received(receiver_report(block(VIDEO_SSRC, 0, lsr_of(later), 0.05)), at=101.20)
    assert abs(link.rtt_ms - (0.85 * 50.0 + 0.15 * 150.0)) < 0.1
    assert link.loss == 0.0


def test_reports_without_a_usable_lsr_give_loss_but_no_rtt() -> None:
    link = LinkReports(VIDEO_SSRC)
    # LSR 0: the receiver has had no sender report yet.
    link.received(receiver_report(block(VIDEO_SSRC, 26, 0, 0.0)), at=5.0)
    assert (link.loss, link.rtt_ms) == (26 / 256, None)
    # An LSR this side never sent (or long forgotten): no RTT either.
    for i in range(SENT_MEMORY + 1):
        link.sender_report_sent(NTP + (i << 32), at=float(i))
    link.received(receiver_report(block(VIDEO_SSRC, 0, lsr_of(NTP), 0.1)), at=20.0)
    assert link.rtt_ms is None


def test_a_report_about_other_streams_changes_nothing() -> None:
    link = LinkReports(VIDEO_SSRC)
    link.sender_report_sent(NTP, at=1.0)
    assert link.received(receiver_report(block(AUDIO_SSRC, 128, lsr_of(NTP), 0.0)), 1.1) is None
    assert link.received(receiver_report(), at=1.2) is None  # an empty RR (no blocks)
    assert (link.loss, link.rtt_ms, link.reports) == (None, None, 0)


def test_a_sender_reports_blocks_count_too() -> None:
    """A peer that also sends media puts its report blocks in its own SR."""
    link = LinkReports(VIDEO_SSRC)
    link.sender_report_sent(NTP, at=50.0)
    sender_info = struct.pack("!QIII", NTP + 99, 1234, 10, 1000)
    body = struct.pack("!I", 0xBEEF) + sender_info + block(VIDEO_SSRC, 64, lsr_of(NTP), 0.5)
    data = struct.pack("!BBH", 0x81, 200, len(body) // 4) + body
    (packet,) = RtcpPacket.parse(data)
    assert isinstance(packet, RtcpSrPacket)
    assert link.received(packet, at=50.52) is not None
    assert link.loss == 0.25
    assert link.rtt_ms is not None and abs(link.rtt_ms - 20.0) < 0.1
