"""Shared packetization: each access unit is split into RTP payloads once, the payloads
re-assemble into the same access unit, and a viewer's RTP numbering runs on unbroken across
a layer switch (and answers NACKs from its history, in RTX)."""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
from aiortc.clock import current_ntp_time
from aiortc.codecs.h264 import H264Encoder, H264PayloadDescriptor
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap

from cloud.gateway.feed import Tap
from cloud.gateway.packetize import (
    AbsSendTimeBlock,
    PayloadCache,
    RtpStream,
    extension_block,
    packetize,
)
from cloud.gateway.rtpsend import ntp_now
from cloud.gateway.units import Unit

PACKET_MAX = 1300  # aiortc's H.264 payload limit


def x264_access_units(width: int, height: int, frames: int) -> list[bytes]:
    """Real libx264 output (Annex B, in-band SPS/PPS, an IDR first): noise, so that the IDR
    needs many FU-A fragments and the SPS/PPS fit one STAP-A."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, 60)
    codec.options = {
        "tune": "zerolatency",
        "preset": "ultrafast",
        "x264-params": "repeat-headers=1",
    }
    rng = np.random.default_rng(7)
    out: list[bytes] = []
    for i in range(frames):
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out += [bytes(p) for p in codec.encode(frame)]
    out += [bytes(p) for p in codec.encode(None)]
    return out


def nal_units(access_unit: bytes) -> list[bytes]:
    return list(H264Encoder._split_bitstream(access_unit))


def reassembled(payloads: tuple[bytes, ...]) -> bytes:
    """What a receiver makes of the payloads: aiortc's own depacketizer, in order."""
    return b"".join(H264PayloadDescriptor.parse(p)[1] for p in payloads)


def test_payloads_reassemble_into_the_same_access_unit() -> None:
    units = x264_access_units(640, 360, 3)
    idr = units[0]
    assert len(idr) > 4 * PACKET_MAX, "an IDR of noise spans many packets"
    for data in units:
        payloads = packetize(Unit("video", "hi", 0, data, idr=data is idr))
        assert all(len(p) <= PACKET_MAX for p in payloads)
        assert nal_units(reassembled(payloads)) == nal_units(data)
    kinds = {p[0] & 0x1F for p in packetize(Unit("video", "hi", 0, idr, idr=True))}
    assert {24, 28} <= kinds, "SPS+PPS aggregated (STAP-A), the IDR fragmented (FU-A)"


def test_the_same_unit_is_packetized_once_for_every_viewer() -> None:
    cache = PayloadCache(size=4)
    data = b"\x00\x00\x00\x01\x65" + os.urandom(5000)
    unit = Unit("video", "hi", 1500, data, idr=True)
    first = cache.payloads(unit)
    # A tap that moved its PTS offset copies the unit, not its bytes: still one packetization.
    shifted = replace(unit, pts=99_000)
    assert cache.payloads(shifted) is first
    assert cache.payloads(unit) is first
    assert (cache.misses, cache.hits) == (1, 2)
    # Equal bytes in another object are another unit (a repeated frame): packetized anew.
    twin = Unit("video", "hi", 3000, bytes(bytearray(data)), idr=True)
    assert cache.payloads(twin) == first
    assert cache.misses == 2
    for i in range(10):
        cache.payloads(Unit("video", "hi", i, b"\x00\x00\x01\x41" + os.urandom(50)))
    assert len(cache) == 4, "bounded"
    opus = Unit("audio", "hi", 0, b"opus packet")
    assert cache.payloads(opus) == (b"opus packet",)


def parse(packet: bytes) -> tuple[int, int, int, int, int, bytes]:
    """(marker, payload type, sequence number, timestamp, ssrc, payload) of a plain RTP
    packet with a one-byte header extension."""
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", packet[:12])
    offset = 12
    if b0 & 0x10:
        words = struct.unpack("!H", packet[14:16])[0]
        offset = 16 + 4 * words
    return b1 >> 7, b1 & 0x7F, seq, ts, ssrc, packet[offset:]


def fake_unit(layer: str, pts: int, idr: bool, size: int) -> Unit:
    nal = bytes([0x65 if idr else 0x41]) + os.urandom(size)
    return Unit("video", layer, pts, b"\x00\x00\x00\x01" + nal, idr)


def test_sequence_numbers_continue_across_a_layer_switch() -> None:
    tap = Tap("hi", lambda layer, reason: None)
    cache = PayloadCache()
    stream = RtpStream(payload_type=102, ssrc=0x1234, clock_rate=90000, sequence_number=65530)
    extension = extension_block(0xBEDE, b"\x10\x30\x00\x00")  # mid "0"
    for i in range(8):  # hi at 60 fps, lo at 30 fps; lo's IDR comes in the middle
        pts = 1500 * i
        tap.offer(fake_unit("hi", pts, idr=i == 0, size=2000 if i == 0 else 900))
        if i % 2 == 0:
            tap.offer(fake_unit("lo", pts, idr=i == 4, size=300))
        if i == 2:
            tap.want("lo", "viewer_choice")
    sent: list[tuple[str, list[bytes]]] = []
    while len(tap.video):
        unit = asyncio.run(tap.video.get())
        assert unit is not None
        sent.append((unit.layer, stream.packets_for(unit, cache.payloads(unit), extension)))
    assert [layer for layer, _ in sent] == ["hi"] * 5 + ["lo"] * 2
    headers = [parse(p) for _, packets in sent for p in packets]
    seqs = [h[2] for h in headers]
    assert seqs == [(65530 + i) & 0xFFFF for i in range(len(seqs))], "no gap, wraps at 2^16"
    stamps = [h[3] for h in headers]
    assert stamps == sorted(stamps), "timestamps never go back, switch included"
    for _, packets in sent:  # the marker ends each frame
        assert [parse(p)[0] for p in packets] == [0] * (len(packets) - 1) + [1]
    assert {h[1] for h in headers} == {102} and {h[4] for h in headers} == {0x1234}
    assert stream.packets == len(headers)


def test_a_nack_is_answered_in_rtx_from_the_history() -> None:
    stream = RtpStream(payload_type=102, ssrc=1, clock_rate=90000, rtx_payload_type=103, rtx_ssrc=2)
    unit = fake_unit("hi", 3000, idr=True, size=3000)
    packets = stream.packets_for(unit, packetize(unit), b"")
    lost = parse(packets[1])
    rtx = stream.retransmission(lost[2], b"")
    assert rtx is not None
    marker, pt, _seq, ts, ssrc, payload = parse(rtx)
    assert (pt, ssrc, ts, marker) == (103, 2, lost[3], lost[0])
    assert struct.unpack("!H", payload[:2])[0] == lost[2], "RTX carries the original number"
    assert payload[2:] == lost[5]
    # Without RTX the packet goes again as it was.
    plain = RtpStream(payload_type=102, ssrc=1, clock_rate=90000)
    plain_packets = plain.packets_for(unit, packetize(unit), b"")
    seq = parse(plain_packets[0])[2]
    assert plain.retransmission(seq, b"") == plain_packets[0]
    # Older than the history (128 packets): nothing to send.
    for i in range(200):
        plain.packets_for(fake_unit("hi", 4500 + i, idr=False, size=10), (b"x",), b"")
    assert plain.retransmission(seq, b"") is None


def test_opus_timestamps_are_on_the_48_khz_clock() -> None:
    stream = RtpStream(payload_type=111, ssrc=5, clock_rate=48000, timestamp_origin=0)
    first = parse(stream.packets_for(Unit("audio", "hi", 90000, b"a"), (b"a",), b"")[0])
    second = parse(stream.packets_for(Unit("audio", "hi", 91800, b"b"), (b"b",), b"")[0])
    assert (first[3], second[3] - first[3]) == (48000, 960), "20 ms of Opus = 960 ticks"
    assert first[0] == 1, "aiortc marks every Opus packet"


MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
SEND_TIMES = [0, 1, 0x123456, 0xFFFFFF, 0xABCDEF]


def aiortc_block(ids: dict[str, int], mid: str) -> tuple[AbsSendTimeBlock, list[bytes]]:
    """Our per-packet block next to aiortc's own, for the extensions negotiated as `ids`."""
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(i, uri) for uri, i in ids.items()]
        )
    )

    def slow(abs_send_time: int) -> bytes:
        values = HeaderExtensions(mid=mid, abs_send_time=abs_send_time)
        return extension_block(*extensions.set(values))

    return AbsSendTimeBlock(slow), [slow(x) for x in SEND_TIMES]


def test_the_extension_block_is_aiortcs_with_only_the_send_time_changing() -> None:
    for ids, mid in [
        ({MID_URI: 1, ABS_SEND_TIME_URI: 3}, "0"),  # Chromium's ids
        ({ABS_SEND_TIME_URI: 2, MID_URI: 9}, "video-12"),
        ({MID_URI: 15, ABS_SEND_TIME_URI: 4}, "1"),  # id 15: aiortc's two-byte form
    ]:
        fast, slow = aiortc_block(ids, mid)
        assert [fast(x) for x in SEND_TIMES] == slow, (ids, mid)
    fast, slow = aiortc_block({MID_URI: 1}, "0")  # no abs-send-time negotiated
    assert [fast(x) for x in SEND_TIMES] == slow
    fast, slow = aiortc_block({}, "0")
    assert fast(5) == b""


def test_ntp_now_is_aiortcs_clock() -> None:
    before = current_ntp_time()
    ours = ntp_now()
    after = current_ntp_time()
    slack = 1 << 22  # ~1 ms of NTP fraction: aiortc's clock rounds to microseconds
    assert before - slack <= ours <= after + slack
