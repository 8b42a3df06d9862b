"""RTP for passthrough units, done once per unit for every viewer where it can be.

`PayloadCache` packetizes an H.264 access unit into RTP payloads (FU-A / STAP-A / single
NAL, exactly as aiortc's H.264 encoder `pack()` would) the first time any viewer sends it;
every other viewer of the same unit gets the same payload objects. `RtpStream` is one
viewer's SSRC: it only adds the 12-byte header (its own sequence numbers and timestamp
origin) and the header extensions, and keeps the history that NACKs are answered from. Its
numbering, history and send path are C (`_rtpout.c`); only `Stream.send` touches the
network, so the rest is tested without peers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from aiortc.codecs.h264 import H264Encoder
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import pack_header_extensions, unpack_header_extensions
from aiortc.utils import random32

from cloud.gateway._rtpout import Stream
from cloud.gateway.units import Unit

UNIT_CLOCK = 90000  # Unit.pts is on the publisher's 90 kHz timeline
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence number, timestamp, SSRC
_RTX_OSN = struct.Struct("!H")
_EXTENSION_HEAD = struct.Struct("!HH")

Payloads = tuple[bytes, ...]


def packetize(unit: Unit) -> Payloads:
    """The RTP payloads of one unit: Opus as it is, H.264 split into NAL units and then
    aggregated (STAP-A) or fragmented (FU-A) to aiortc's 1300-byte payload limit."""
    if unit.kind == "audio":
        return (unit.data,)
    return tuple(H264Encoder._packetize(H264Encoder._split_bitstream(unit.data)))


class PayloadCache:
    """The last `size` units' payloads, shared by every viewer in the process.

    Keyed by the identity of the unit's bytes: the feed hands the same `Unit.data` object to
    every tap (a tap's PTS shift copies the unit but not its bytes), and each entry holds
    that object, so its id cannot be reused while the entry lives. A viewer so far behind
    that its unit has left the cache just packetizes it again.
    """

    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one unit")
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: dict[int, tuple[bytes, Payloads]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def payloads(self, unit: Unit) -> Payloads:
        if unit.kind == "audio":
            return (unit.data,)
        data = unit.data
        hit = self._entries.get(id(data))
        if hit is not None and hit[0] is data:
            self.hits += 1
            return hit[1]
        self.misses += 1
        payloads = packetize(unit)
        self._entries[id(data)] = (data, payloads)
        if len(self._entries) > self.size:
            del self._entries[next(iter(self._entries))]  # dicts keep insertion order
        return payloads


# One cache for every session's viewers in the process (feeds and send loops alike).
SHARED_PAYLOADS = PayloadCache()


def extension_block(profile: int, value: bytes, extra: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """The header-extension part of an RTP header (what aiortc's `HeaderExtensionsMap.set`
    returns, framed), with the `extra` (id, value) elements aiortc does not know after its
    own; empty when no extension is in use."""
    if extra:
        known = unpack_header_extensions(profile, value)
        profile, value = pack_header_extensions([*known, *extra])
    if not value:
        return b""
    return _EXTENSION_HEAD.pack(profile, len(value) >> 2) + value


class AbsSendTimeBlock:
    """One viewer's header-extension block, of which only abs-send-time changes per packet.

    `build(abs_send_time)` is the slow way (aiortc's `HeaderExtensionsMap.set`, framed): it
    is called twice here to find where the 3 bytes of abs-send-time sit in the block; every
    packet after that is prefix + 3 bytes + suffix. A block without abs-send-time (not
    negotiated) is the same for every packet.
    """

    def __init__(self, build: Callable[[int], bytes]) -> None:
        low, high = build(0), build(0xFFFFFF)
        changed = [i for i, (x, y) in enumerate(zip(low, high, strict=True)) if x != y]
        # The block with abs-send-time 0, and where its 3 bytes sit (-1: not in the block),
        # for `Stream.send`, which writes the send time there itself.
        self.template = low
        self.at = -1
        if not changed:
            return
        start = changed[0]
        if changed != [start, start + 1, start + 2] or low[start : start + 3] != b"\0\0\0":
            raise ValueError("abs-send-time is not 3 bytes in this header extension block")
        self.at = start

    def __call__(self, abs_send_time: int) -> bytes:
        at = self.at
        if at < 0:
            return self.template
        value = (abs_send_time & 0xFFFFFF).to_bytes(3, "big")
        return self.template[:at] + value + self.template[at + 3 :]


class RtpStream(Stream):
    """One viewer's RTP stream for one track: numbering, timestamps, NACK history (kept in
    C, `_rtpout.Stream`, whose `send` writes, protects and sends a unit's packets)."""

    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        clock_rate: int,
        rtx_payload_type: int | None = None,
        rtx_ssrc: int = 0,
        sequence_number: int | None = None,
        timestamp_origin: int | None = None,
        rtx_sequence_number: int | None = None,
    ) -> None:
        def pick(value: int | None, random: Callable[[], int]) -> int:
            return random() if value is None else value

        super().__init__(
            payload_type=payload_type,
            ssrc=ssrc,
            clock_rate=clock_rate,
            rtx_payload_type=rtx_payload_type,
            rtx_ssrc=rtx_ssrc,
            sequence_number=pick(sequence_number, random_sequence_number),
            timestamp_origin=pick(timestamp_origin, random32),
            rtx_sequence_number=pick(rtx_sequence_number, random_sequence_number),
        )

    def packets_for(self, unit: Unit, payloads: Payloads, extension: bytes) -> list[bytes]:
        """Plain RTP packets (not yet SRTP-protected) for one unit, numbered by `stamp`: for
        a path that protects them itself (aiortc's, over TURN)."""
        seq, timestamp = self.stamp(unit.pts, payloads)
        first_byte = 0x90 if extension else 0x80
        pt = self.payload_type
        ssrc = self.ssrc
        pack = HEADER.pack
        last = len(payloads) - 1
        out = []
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == last else 0
            out.append(pack(first_byte, marker | pt, seq, timestamp, ssrc) + extension + payload)
            seq = (seq + 1) & 0xFFFF
        return out

    def retransmission(self, sequence_number: int, extension: bytes) -> bytes | None:
        """The packet a NACK asks for again: wrapped in RTX (RFC 4588) when RTX was
        negotiated, as it was sent otherwise; None once it left the history."""
        entry = self.sent(sequence_number)
        if entry is None:
            return None
        seq, timestamp, marker, payload = entry
        first_byte = 0x90 if extension else 0x80
        rtx_type = self.rtx_payload_type
        if rtx_type is None:
            header = HEADER.pack(first_byte, marker | self.payload_type, seq, timestamp, self.ssrc)
            return header + extension + payload
        rtx_seq = self.rtx_sequence_number
        self.rtx_sequence_number = (rtx_seq + 1) & 0xFFFF
        header = HEADER.pack(first_byte, marker | rtx_type, rtx_seq, timestamp, self.rtx_ssrc)
        return header + extension + _RTX_OSN.pack(seq) + payload
