"""Typed one-liners over libsrt socket calls, and turning its last error into our exceptions.

libsrt keeps the last error per thread, so `raise_last` must run on the failing thread right
after the failing call; every wrapper here does exactly that.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from typing import NoReturn

from .consts import (
    SRT_EASYNCRCV,
    SRT_EASYNCSND,
    SRT_ECONNFAIL,
    SRT_ECONNLOST,
    SRT_ECONNREJ,
    SRT_EINVSOCK,
    SRT_ENOCONN,
    SRT_ENOSERVER,
    SRT_ERROR,
    SRT_ESCLOSED,
    SRT_ETIMEOUT,
    SRT_INVALID_SOCK,
    RejectReason,
)
from .errors import SrtConnectionLost, SrtError, SrtRejected, SrtTimeout
from .lib import srt

_TIMEOUTS = frozenset({SRT_ENOSERVER, SRT_EASYNCSND, SRT_EASYNCRCV, SRT_ETIMEOUT})
# EINVSOCK too: once the peer is gone libsrt closes and frees the socket by itself, and the
# next send on it says "invalid socket" rather than "connection lost".
_LOST = frozenset({SRT_ECONNFAIL, SRT_ECONNLOST, SRT_ENOCONN, SRT_ESCLOSED, SRT_EINVSOCK})

# Every socket this process opened and has not closed: tests assert it drains to empty.
_open: set[int] = set()
_open_lock = threading.Lock()


def last_error() -> tuple[int, str]:
    """(SRT_ERRNO, text) of the last failure on this thread."""
    lib = srt()
    code = int(lib.srt_getlasterror(None))
    text = lib.srt_getlasterror_str()
    return code, (text.decode("utf-8", "replace") if text else "unknown error")


def raise_last(what: str, sock: int | None = None) -> NoReturn:
    """Raise the named exception for the failure libsrt just reported on this thread."""
    code, text = last_error()
    message = f"{what}: {text}"
    if code == SRT_ECONNREJ and sock is not None:
        reason = int(srt().srt_getrejectreason(sock))
        if reason == RejectReason.TIMEOUT:
            raise SrtTimeout(code, message)
        raise SrtRejected(reason, what)
    if code in _TIMEOUTS:
        raise SrtTimeout(code, message)
    if code in _LOST:
        raise SrtConnectionLost(code, message)
    raise SrtError(code, message)


def check(result: int, what: str, sock: int | None = None) -> int:
    """Pass a non-error result through; raise the matching exception for SRT_ERROR."""
    if result == SRT_ERROR:
        raise_last(what, sock)
    return result


def create() -> int:
    sock = int(srt().srt_create_socket())
    if sock == SRT_INVALID_SOCK:
        raise_last("srt_create_socket")
    track(sock)
    return sock


def track(sock: int) -> None:
    """Remember a socket libsrt handed us (created or accepted) until `close`."""
    with _open_lock:
        _open.add(sock)


def close(sock: int) -> None:
    """Close a socket; closing twice, or after libsrt is gone, is harmless."""
    with _open_lock:
        if sock not in _open:
            return
        _open.discard(sock)
    # SrtError here means libsrt already cleaned up at interpreter exit: nothing to close.
    with contextlib.suppress(SrtError):
        srt().srt_close(sock)


def open_sockets() -> frozenset[int]:
    """Sockets opened through this package and not yet closed (for leak checks)."""
    with _open_lock:
        return frozenset(_open)


def set_int(sock: int, opt: int, value: int) -> None:
    v = ctypes.c_int(value)
    check(
        int(srt().srt_setsockflag(sock, opt, ctypes.byref(v), ctypes.sizeof(v))),
        f"set option {opt}",
    )


def set_bytes(sock: int, opt: int, value: bytes) -> None:
    buf = ctypes.create_string_buffer(value, len(value))
    check(int(srt().srt_setsockflag(sock, opt, buf, len(value))), f"set option {opt}")


def get_int(sock: int, opt: int) -> int:
    v = ctypes.c_int(0)
    n = ctypes.c_int(ctypes.sizeof(v))
    check(
        int(srt().srt_getsockflag(sock, opt, ctypes.byref(v), ctypes.byref(n))),
        f"get option {opt}",
    )
    return v.value


def get_bytes(sock: int, opt: int, size: int) -> bytes:
    buf = ctypes.create_string_buffer(size + 1)
    n = ctypes.c_int(size + 1)
    check(int(srt().srt_getsockflag(sock, opt, buf, ctypes.byref(n))), f"get option {opt}")
    return buf.raw[: max(0, min(n.value, size))]


def state(sock: int) -> int:
    """SRT_SOCKSTATUS of a socket (SRTS_NONEXIST once libsrt has forgotten it)."""
    return int(srt().srt_getsockstate(sock))
