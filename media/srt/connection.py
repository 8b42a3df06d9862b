"""SrtConnection (one live SRT link, either side) and `connect`, the caller.

Threads: one thread may send while another receives; `close` may come from any thread and
wakes a blocked `recv` (which then returns b""). Every call blocks in libsrt with the GIL
released.
"""

from __future__ import annotations

import ctypes
import threading
import time
import warnings
from types import TracebackType
from typing import NoReturn

from . import handle
from .address import Address, from_sockaddr, resolve
from .consts import (
    PACKET_FILTER_MAX,
    SRT_EINVSOCK,
    SRT_LIVE_MAX_PLSIZE,
    SRTO_PACKETFILTER,
    SRTO_RCVTIMEO,
)
from .errors import SrtClosed, SrtConnectionLost, SrtError, SrtTimeout
from .lib import srt
from .options import SrtOptions, apply_options
from .stats import SrtStats, read_stats
from .structs import SrtMsgCtrl

BytesLike = bytes | bytearray | memoryview


def _timeout_ms(timeout: float | None) -> int:
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0 or None, not {timeout}")
    return max(1, round(timeout * 1000))  # 0 would mean "never" to libsrt


class SrtConnection:
    """A connected SRT socket in live mode. Made by `connect` or `SrtListener.accept`."""

    def __init__(
        self, sock: int, *, peer: Address, streamid: str, payload_size: int, recv_timeout_ms: int
    ) -> None:
        self._sock = sock
        self._peer = peer
        self._streamid = streamid
        self._payload_size = payload_size
        self._recv_timeout_ms = recv_timeout_ms  # the default; a per-call timeout overrides
        self._rcvtimeo = recv_timeout_ms  # what SRTO_RCVTIMEO is set to right now
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def streamid(self) -> str:
        """The streamid the caller sent ("" if none). It may carry a credential: don't log it."""
        return self._streamid

    @property
    def peer(self) -> Address:
        return self._peer

    @property
    def payload_size(self) -> int:
        return self._payload_size

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def packet_filter(self) -> str:
        """The packet filter both sides agreed on in the handshake ("" for none), e.g.
        ``fec,cols:10,rows:1,arq:onreq,layout:staircase``. The latencies they agreed on are
        in `stats()` (`snd_latency_ms`, `rcv_latency_ms`)."""
        raw = handle.get_bytes(self._sock, SRTO_PACKETFILTER, PACKET_FILTER_MAX)
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")

    @property
    def socket_id(self) -> int:
        """libsrt's SRTSOCKET number, for log lines."""
        return self._sock

    def send(self, data: BytesLike) -> int:
        """Send `data` as messages of at most `payload_size` bytes; returns bytes sent.

        Give it whole 188-byte TS packets (ideally a frame's worth at once) so that every
        message carries whole packets. Raises SrtConnectionLost, SrtTimeout, SrtClosed.
        """
        view = memoryview(data).cast("B")
        lib = srt()
        ctrl = SrtMsgCtrl()
        lib.srt_msgctrl_init(ctypes.byref(ctrl))
        sent = 0
        for start in range(0, len(view), self._payload_size):
            chunk = bytes(view[start : start + self._payload_size])
            n = int(lib.srt_sendmsg2(self._sock, chunk, len(chunk), ctypes.byref(ctrl)))
            if n < 0:
                self._raise_io("srt_sendmsg2")
            sent += n
        return sent

    def recv(self, max_bytes: int = 1500, timeout: float | None = None) -> bytes:
        """One message (<= payload_size bytes), waiting at most `timeout` seconds.

        None waits for the connection's default (`recv_timeout_ms`, unlimited by default).
        Returns b"" at end of stream: the peer closed, the link broke, or we closed.
        Raises SrtTimeout when nothing arrived in time.
        """
        if max_bytes < self._payload_size:
            raise ValueError(f"max_bytes must be >= payload_size ({self._payload_size})")
        want = self._recv_timeout_ms if timeout is None else _timeout_ms(timeout)
        if want != self._rcvtimeo:
            try:
                handle.set_int(self._sock, SRTO_RCVTIMEO, want)
                self._rcvtimeo = want
            except SrtConnectionLost:
                pass  # broken: recv won't wait, and still hands out what was buffered
            except SrtError:
                if self._closed:
                    return b""
                raise
        buf = ctypes.create_string_buffer(max(max_bytes, SRT_LIVE_MAX_PLSIZE))
        ctrl = SrtMsgCtrl()
        lib = srt()
        lib.srt_msgctrl_init(ctypes.byref(ctrl))
        n = int(lib.srt_recvmsg2(self._sock, buf, len(buf), ctypes.byref(ctrl)))
        if n > 0:
            return buf.raw[:n]
        if n == 0:
            return b""
        try:
            self._raise_io("srt_recvmsg2")
        except (SrtConnectionLost, SrtClosed):
            return b""

    def stats(self, clear: bool = False) -> SrtStats:
        """Link statistics now; `clear` restarts the interval counters and rates."""
        if self._closed:
            raise SrtClosed(SRT_EINVSOCK, "stats on a closed connection")
        return read_stats(self._sock, clear=clear)

    def drain(self, timeout: float) -> bool:
        """Wait until the peer has acknowledged everything sent and held it for its latency
        (so it has been delivered), or the link ended; True if all of it got there in time.

        Live mode throws away whatever is still in flight on close, so call this before
        `close` when the tail matters (tests, a clean stop); a live sender just closes.
        """
        deadline = time.monotonic() + timeout
        blocks, nbytes = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib = srt()
        while True:
            r = int(lib.srt_getsndbuffer(self._sock, ctypes.byref(blocks), ctypes.byref(nbytes)))
            if r < 0:
                return False
            if blocks.value == 0:
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)  # libsrt has no "send buffer empty" event to wait on
        try:
            # Acknowledged means received; the peer delivers it one latency later, and a
            # close before then makes it drop what it still holds.
            hold = read_stats(self._sock).snd_latency_ms / 1000
        except SrtError:
            return False
        if time.monotonic() + hold > deadline:
            return False
        time.sleep(hold + 0.005)
        return True

    def close(self) -> None:
        """Close at once (idempotent, any thread). A blocked `recv` wakes up with b""."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        handle.close(self._sock)

    def __del__(self) -> None:
        # A safety net like socket.socket's: an unclosed connection would otherwise keep its
        # libsrt socket (and UDP port) until exit. Close explicitly; this warns when you don't.
        if not getattr(self, "_closed", True):
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=1)
            self.close()

    def __enter__(self) -> SrtConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<SrtConnection {self._sock} peer={self._peer[0]}:{self._peer[1]} {state}>"

    def _raise_io(self, what: str) -> NoReturn:
        try:
            handle.raise_last(what, self._sock)
        except SrtError as exc:
            if self._closed and not isinstance(exc, SrtTimeout):
                raise SrtClosed(exc.code, f"{what}: the connection was closed") from exc
            raise


def connect(host: str, port: int, options: SrtOptions | None = None) -> SrtConnection:
    """Call a listener at host:port and return the connected link.

    Blocks up to `options.conn_timeout_ms`. Raises SrtRejected (check `.reason_code`:
    RejectReason.BADSECRET for a wrong passphrase, FORBIDDEN for a refused streamid),
    SrtTimeout (no listener answered), or SrtError.
    """
    options = options or SrtOptions()
    target = resolve(host, port)
    sock = handle.create()
    try:
        apply_options(sock, options)
        handle.check(
            int(srt().srt_connect(sock, ctypes.byref(target), ctypes.sizeof(target))),
            f"connect to {host}:{port}",
            sock,
        )
    except BaseException:
        handle.close(sock)
        raise
    return SrtConnection(
        sock,
        peer=from_sockaddr(ctypes.addressof(target)),
        streamid=options.streamid or "",
        payload_size=options.payload_size,
        recv_timeout_ms=options.recv_timeout_ms,
    )
