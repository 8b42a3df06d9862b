"""SRTP-protect RTP packets written straight into one preallocated buffer (libsrtp in place).

Why: for every packet of every viewer the send path used to concatenate header, extension
and payload into a new bytes object, then pylibsrtp's `Session.protect` allocated an `int *`,
copied that packet into the session's buffer, protected it and copied the result out into
another new bytes object: three copies, four allocations and two Python-level calls per
packet. Here the 12-byte header is packed into the buffer, the extension block and the
(shared) payload are copied after it, libsrtp protects it in place, and the caller sends a
view of the buffer: one copy, no allocation but the view. Measured with
`python -m bench.sendpath`: ~2.7 us per packet down to ~2.0 (protect alone ~1 us).

It calls the same libsrtp function with the same session context that pylibsrtp would
(`pylibsrtp._binding.lib.srtp_protect`, `Session._srtp`), so the packets and the session's
SRTP state (rollover counter, replay list) are exactly those `Session.protect` makes;
checked against pylibsrtp 1.0.0. `available()` is False if a pylibsrtp release lacks those
internals, and rtpsend then uses `Session.protect` as before.

One writer per thread (`writer()`): the buffer is valid until the next `write` on the same
thread, and the send path sends each packet before it writes the next.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
import sys
import threading
from collections.abc import Sequence
from typing import Any

from pylibsrtp import Session

from cloud.gateway.packetize import HEADER

log = logging.getLogger(__name__)

try:
    from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a pylibsrtp built differently
    ffi = lib = None

BUFFER_BYTES = 1500  # room for one packet and its SRTP trailer
# pylibsrtp's own limit (1500 - SRTP_MAX_TRAILER_LEN): room for the auth tag and an MKI.
MAX_PACKET = BUFFER_BYTES - (16 + 128)
# One GSO send: at most 64 datagrams (older kernels' UDP_MAX_SEGMENTS) and well under the
# 64 KiB a UDP datagram may carry before the kernel cuts it.
BATCH_BYTES = 60 * 1024
MAX_SEGMENTS = 64
# UDP GSO (Linux 4.18+): the segment size as a cmsg; Python 3.11 has no name for it.
_GSO_LEVEL, _GSO_SEGMENT = getattr(socket, "SOL_UDP", 17), getattr(socket, "UDP_SEGMENT", 103)
_NO_GSO = (errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP)
_U16 = struct.Struct("=H")


class SrtpFailed(RuntimeError):
    """libsrtp refused to protect a packet (its error status is in the message)."""


class PacketTooLong(ValueError):
    """An RTP packet longer than the buffer leaves room for with the SRTP trailer."""


def usable(session: Session) -> bool:
    """Whether `SrtpWriter` can protect with this pylibsrtp session (the internals it uses
    exist); if not, the caller protects with `Session.protect`."""
    return lib is not None and getattr(session, "_srtp", None) is not None


def _context(session: Session) -> Any:
    # The libsrtp context (srtp_t). Only while the caller holds `session`: the context is
    # freed with it.
    return session._srtp[0]


class SrtpWriter:
    """One buffer: `write` packs an RTP packet into it and protects it there."""

    def __init__(self) -> None:
        if ffi is None or lib is None:
            raise RuntimeError("pylibsrtp has no _binding: use Session.protect")
        self._cdata = ffi.new("unsigned char[]", BATCH_BYTES)
        self.view = memoryview(ffi.buffer(self._cdata))
        self._length = ffi.new("int *")
        self._protect = lib.srtp_protect
        self.gso = sys.platform == "linux"  # off for good once the kernel refuses it

    def write(
        self,
        session: Session,
        first_byte: int,
        marker_pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
        extension: bytes,
        payload: bytes,
    ) -> int:
        """Write and protect one packet; its SRTP bytes are `view[:returned length]`."""
        view = self.view
        HEADER.pack_into(view, 0, first_byte, marker_pt, seq, timestamp, ssrc)
        end = 12 + len(extension)
        size = end + len(payload)
        if size > MAX_PACKET:
            raise PacketTooLong(f"an RTP packet of {size} bytes is too long for SRTP here")
        view[12:end] = extension
        view[end:size] = payload
        length = self._length
        length[0] = size
        status = self._protect(_context(session), self._cdata, length)
        if status:
            raise SrtpFailed(f"srtp_protect failed with status {status}")
        return int(length[0])

    def send_unit(
        self,
        session: Session,
        first_byte: int,
        pt: int,
        seq: int,
        timestamp: int,
        ssrc: int,
        extension: bytes,
        payloads: Sequence[bytes],
        sock: Any,
        transport: Any,
        address: Any,
    ) -> int:
        """Write, protect and send one unit's packets (sequence numbers from `seq` on, the
        marker bit on the last); returns the SRTP bytes sent.

        The packets are written one after the other into the buffer, and each run of equal
        sizes (the FU-A fragments of a frame: aiortc cuts a NAL unit into fragments that
        differ by at most a byte, the larger first) goes to the kernel in one `sendmsg` with
        UDP GSO (`UDP_SEGMENT`), which cuts it into the same datagrams: the UDP/IP stack,
        about 3.2 of the 3.5 us a datagram costs in the kernel here, runs once per run
        instead of once per packet (`python -m bench.sendpath`).

        `sock` is the transport's socket, to send on directly (asyncio's `sendto` costs
        about as much Python again as the rest of a packet), or None to go through
        `transport.sendto`. The first datagram the socket does not take goes to the
        transport, which queues it (or reports the error to its protocol, as it would
        have), and so do the rest of the unit's: what it holds back goes first."""
        srtp = _context(session)
        view = self.view
        base = self._cdata
        length = self._length
        protect = self._protect
        pack_into = HEADER.pack_into
        end = 12 + len(extension)
        last = len(payloads) - 1
        sent = offset = start = count = segment = 0
        closed = False  # the run has its one shorter (last) datagram
        for i, payload in enumerate(payloads):
            plain = end + len(payload)
            if plain > MAX_PACKET:
                raise PacketTooLong(f"an RTP packet of {plain} bytes is too long for SRTP here")
            if offset + BUFFER_BYTES > BATCH_BYTES or count == MAX_SEGMENTS:
                sock = self._flush(sock, transport, address, start, offset, segment, count)
                offset = start = count = 0
            pack_into(
                view, offset, first_byte, pt | 0x80 if i == last else pt, seq, timestamp, ssrc
            )
            view[offset + 12 : offset + end] = extension
            view[offset + end : offset + plain] = payload
            length[0] = plain
            status = protect(srtp, base + offset, length)
            if status:
                raise SrtpFailed(f"srtp_protect failed with status {status}")
            size = length[0]
            if count and (closed or size > segment):
                sock = self._flush(sock, transport, address, start, offset, segment, count)
                start, count = offset, 0
            if not count:
                segment, closed = size, False
            elif size < segment:
                closed = True
            count += 1
            offset += size
            sent += size
            seq = (seq + 1) & 0xFFFF
        if count:
            self._flush(sock, transport, address, start, offset, segment, count)
        return sent

    def _flush(
        self,
        sock: Any,
        transport: Any,
        address: Any,
        start: int,
        stop: int,
        segment: int,
        count: int,
    ) -> Any:
        """Send `count` datagrams of `segment` bytes (the last may be shorter) that lie in
        the buffer from `start` to `stop`; returns the socket, or None once it refused."""
        view = self.view
        if sock is not None:
            try:
                if count == 1:
                    sock.sendto(view[start:stop], address)
                    return sock
                if self.gso:
                    sock.sendmsg(
                        [view[start:stop]],
                        [(_GSO_LEVEL, _GSO_SEGMENT, _U16.pack(segment))],
                        0,
                        address,
                    )
                    return sock
            except OSError as exc:
                if count > 1 and self.gso and exc.errno in _NO_GSO:
                    self.gso = False  # the kernel or the device cannot: one at a time
                    log.info("UDP GSO refused (%s): sending one datagram at a time", exc)
                else:
                    sock = None
        for at in range(start, stop, segment):
            datagram = view[at : min(at + segment, stop)]
            if sock is not None:
                try:
                    sock.sendto(datagram, address)
                    continue
                except OSError:
                    sock = None
            transport.sendto(bytes(datagram), address)
        return sock


_local = threading.local()


def writer() -> SrtpWriter:
    """This thread's writer."""
    found: SrtpWriter | None = getattr(_local, "writer", None)
    if found is None:
        found = _local.writer = SrtpWriter()
    return found
