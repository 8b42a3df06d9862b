"""SrtListener: bind, vet each caller during the handshake, accept connections.

The accept filter runs inside libsrt's `srt_listen_callback`, on libsrt's receiving thread,
*before* the handshake completes: it sees the caller's streamid and address and either
refuses (the caller gets the reject code) or accepts, optionally choosing this connection's
passphrase (how one listener serves many sessions, each with its own key). libsrt checks the
passphrase after the filter, so a wrong one reaches the caller as BADSECRET.

The filter blocks packet reception on the listener's port while it runs: keep it an
in-memory lookup, never a database or network round trip.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from . import handle
from .address import Address, from_sockaddr, resolve, storage
from .connection import SrtConnection, _timeout_ms
from .consts import (
    SRT_EPOLL_ERR,
    SRT_EPOLL_IN,
    SRT_INVALID_SOCK,
    SRT_REJC_PREDEFINED,
    SRT_STREAMID_MAX,
    SRTO_IPV6ONLY,
    SRTO_PASSPHRASE,
    SRTO_STREAMID,
    RejectReason,
)
from .errors import SrtClosed, SrtTimeout
from .lib import LISTEN_CALLBACK, srt
from .options import SrtOptions, apply_options, check_passphrase
from .structs import SockaddrIn6, SrtEpollEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcceptDecision:
    """What the accept filter says about one caller. Build with `allow` or `reject`."""

    accept: bool
    reject_reason: int = 0
    passphrase: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.accept:
            if self.passphrase is not None:
                check_passphrase(self.passphrase)
        elif self.reject_reason < SRT_REJC_PREDEFINED:
            # libsrt reserves codes below 1000 for itself and refuses to set them.
            raise ValueError(f"an application reject code is >= 1000, not {self.reject_reason}")

    @classmethod
    def allow(cls, passphrase: str | None = None) -> AcceptDecision:
        """Accept; with `passphrase`, this connection must use it (else the listener's)."""
        return cls(accept=True, passphrase=passphrase)

    @classmethod
    def reject(cls, reason: int = RejectReason.FORBIDDEN) -> AcceptDecision:
        """Refuse with an application code: 1000 + HTTP-like status (see RejectReason)."""
        return cls(accept=False, reject_reason=int(reason))


AcceptFilter = Callable[[str, Address], AcceptDecision]
"""(streamid, peer address) -> decision. Runs on libsrt's thread; must be quick."""


@dataclass
class _Gate:
    accept_filter: AcceptFilter
    accepted: int = 0
    rejected: int = 0

    def decide(self, ns: int, peer: Address, streamid: str) -> int:
        decision = self.accept_filter(streamid, peer)
        if not isinstance(decision, AcceptDecision):
            raise TypeError(f"accept filter returned {type(decision).__name__}")
        if not decision.accept:
            self.rejected += 1
            log.info("refused SRT caller %s:%s: %s", *peer, _reason(decision.reject_reason))
            srt().srt_setrejectreason(ns, decision.reject_reason)
            return -1
        if decision.passphrase is not None:
            handle.set_bytes(ns, SRTO_PASSPHRASE, check_passphrase(decision.passphrase))
        self.accepted += 1
        return 0


def _reason(code: int) -> str:
    try:
        return RejectReason(code).name
    except ValueError:
        return str(code)


# One C callback for the whole process, alive forever: libsrt may still be inside it while a
# listener closes, so per-listener state is looked up by id (the hook's opaque pointer)
# instead of living in per-listener CFUNCTYPE objects that could be freed under libsrt's feet.
_gates: dict[int, _Gate] = {}
_gates_lock = threading.Lock()
_gate_ids = itertools.count(1)


def _on_handshake(
    opaque: int | None, ns: int, _hsversion: int, peeraddr: int | None, streamid: bytes | None
) -> int:
    # Nothing may escape into C: an exception here would be printed and the connection
    # *accepted* (ctypes returns 0), so every failure is a rejection.
    try:
        with _gates_lock:
            gate = _gates.get(opaque or 0)
        if gate is None:
            srt().srt_setrejectreason(ns, RejectReason.DOWN)
            return -1
        sid = streamid.decode("utf-8", "replace") if streamid else ""
        return gate.decide(ns, from_sockaddr(peeraddr), sid)
    except BaseException:
        try:
            log.exception("SRT accept filter failed; refusing the caller")
            srt().srt_setrejectreason(ns, RejectReason.ISE)
        except BaseException:  # noqa: S110 - logging itself failed; still refuse
            pass
        return -1


_HANDSHAKE_HOOK = LISTEN_CALLBACK(_on_handshake)


class SrtListener:
    """A bound, listening SRT socket. Made by `listen`."""

    def __init__(
        self, sock: int, epoll: int, gate_id: int, gate: _Gate | None, options: SrtOptions
    ) -> None:
        self._sock = sock
        self._epoll = epoll
        self._gate_id = gate_id
        self._gate = gate
        self._options = options
        self._closed = False
        self._close_lock = threading.Lock()
        ss, n = storage()
        handle.check(
            int(srt().srt_getsockname(sock, ctypes.byref(ss), ctypes.byref(n))),
            "srt_getsockname",
        )
        self._address = from_sockaddr(ctypes.addressof(ss))

    @property
    def address(self) -> Address:
        """Where it listens; the real port when asked for port 0."""
        return self._address

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def accepted_count(self) -> int:
        """Callers the filter let through (they may still fail the passphrase check)."""
        return self._gate.accepted if self._gate else 0

    @property
    def rejected_count(self) -> int:
        """Callers the filter refused."""
        return self._gate.rejected if self._gate else 0

    def accept(self, timeout: float | None = None) -> SrtConnection:
        """The next connected caller, waiting at most `timeout` seconds (None: until one
        comes or the listener is closed). Raises SrtTimeout, or SrtClosed after `close`."""
        lib = srt()
        if timeout is not None:
            event = SrtEpollEvent()
            n = int(lib.srt_epoll_uwait(self._epoll, ctypes.byref(event), 1, _timeout_ms(timeout)))
            if self._closed:
                raise SrtClosed(-1, "the listener was closed")
            if n == 0:
                raise SrtTimeout(-1, f"no caller within {timeout} s")
            if n < 0:
                handle.raise_last("srt_epoll_uwait")
        ss, sslen = storage()
        sock = int(lib.srt_accept(self._sock, ctypes.byref(ss), ctypes.byref(sslen)))
        if sock == SRT_INVALID_SOCK:
            if self._closed:
                raise SrtClosed(-1, "the listener was closed")
            handle.raise_last("srt_accept")
        handle.track(sock)
        try:
            streamid = handle.get_bytes(sock, SRTO_STREAMID, SRT_STREAMID_MAX)
        except BaseException:
            handle.close(sock)
            raise
        return SrtConnection(
            sock,
            peer=from_sockaddr(ctypes.addressof(ss)),
            streamid=streamid.decode("utf-8", "replace"),
            payload_size=self._options.payload_size,
            recv_timeout_ms=self._options.recv_timeout_ms,
        )

    def close(self) -> None:
        """Stop listening (idempotent, any thread); a blocked `accept` raises SrtClosed.
        Connections already accepted stay open: close them yourself."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        handle.close(self._sock)
        srt().srt_epoll_release(self._epoll)
        with _gates_lock:
            _gates.pop(self._gate_id, None)

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):  # see SrtConnection.__del__
            warnings.warn(f"unclosed {self!r}", ResourceWarning, stacklevel=1)
            self.close()

    def __enter__(self) -> SrtListener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        host, port = self._address
        return f"<SrtListener {self._sock} {host}:{port}{' closed' if self._closed else ''}>"


def listen(
    host: str,
    port: int,
    options: SrtOptions | None = None,
    *,
    backlog: int = 16,
    accept_filter: AcceptFilter | None = None,
) -> SrtListener:
    """Listen for SRT callers on host:port (port 0 picks a free one: see `.address`).

    `options` apply to every accepted connection; `accept_filter` vets each caller during
    the handshake (without one, every caller that passes the passphrase check is accepted).
    """
    options = options or SrtOptions()
    if options.streamid is not None:
        raise ValueError("a listener has no streamid; callers send theirs")
    lib = srt()
    local = resolve(host, port, passive=True)
    sock = handle.create()
    epoll = -1
    gate_id = next(_gate_ids)
    gate = _Gate(accept_filter) if accept_filter is not None else None
    try:
        apply_options(sock, options)
        if isinstance(local, SockaddrIn6):
            # Explicit, because libsrt refuses to bind "::" while IPV6ONLY is left at the
            # system default; 0 lets one IPv6 listener take IPv4 callers too.
            handle.set_int(sock, SRTO_IPV6ONLY, 0)
        handle.check(
            int(lib.srt_bind(sock, ctypes.byref(local), ctypes.sizeof(local))),
            f"bind {host}:{port}",
        )
        if gate is not None:
            with _gates_lock:
                _gates[gate_id] = gate
            # Set before srt_listen so that no caller slips through unvetted.
            handle.check(
                int(lib.srt_listen_callback(sock, _HANDSHAKE_HOOK, ctypes.c_void_p(gate_id))),
                "srt_listen_callback",
            )
        handle.check(int(lib.srt_listen(sock, backlog)), "srt_listen")
        epoll = handle.check(int(lib.srt_epoll_create()), "srt_epoll_create")
        events = ctypes.c_int(SRT_EPOLL_IN | SRT_EPOLL_ERR)
        handle.check(
            int(lib.srt_epoll_add_usock(epoll, sock, ctypes.byref(events))), "srt_epoll_add"
        )
        return SrtListener(sock, epoll, gate_id, gate, options)
    except BaseException:
        handle.close(sock)
        if epoll >= 0:
            lib.srt_epoll_release(epoll)
        with _gates_lock:
            _gates.pop(gate_id, None)
        raise
