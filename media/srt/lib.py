"""Load libsrt once, declare every C signature we call, and start/stop the library.

libsrt is process-wide state (its own threads, one UDP multiplexer per port), so one handle
per process is the honest shape; `srt()` is the only way in.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import threading
from typing import Any

from .errors import SrtClosed, SrtLibraryMissing
from .structs import SRTSOCKET, CBytePerfMon, SrtEpollEvent, SrtMsgCtrl

ENV_OVERRIDE = "RETURNFEED_LIBSRT"
INSTALL_HINT = "apt-get install libsrt1.5-openssl"

# The OpenSSL flavour first: Debian's ffmpeg pulls in libsrt-gnutls as well, the two have
# different sonames and coexist, and the OpenSSL one is what we test against. The GnuTLS one
# has the same ABI, so it is an acceptable fallback.
SONAMES = ("libsrt.so.1.5", "libsrt-gnutls.so.1.5", "libsrt.1.5.dylib", "srt.dll")

MIN_VERSION = 0x010500  # CBytePerfMon's 1.5 fields and srt_bistats need 1.5

# int (*)(void* opaq, SRTSOCKET ns, int hsversion, const struct sockaddr* peer, const char* sid)
LISTEN_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, SRTSOCKET, ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p
)

_INT_P = ctypes.POINTER(ctypes.c_int)
_SIZE_P = ctypes.POINTER(ctypes.c_size_t)

# name: (restype, argtypes). Every function this package calls is here, nothing else.
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "srt_startup": (ctypes.c_int, []),
    "srt_cleanup": (ctypes.c_int, []),
    "srt_getversion": (ctypes.c_uint32, []),
    "srt_create_socket": (SRTSOCKET, []),
    "srt_bind": (ctypes.c_int, [SRTSOCKET, ctypes.c_void_p, ctypes.c_int]),
    "srt_listen": (ctypes.c_int, [SRTSOCKET, ctypes.c_int]),
    "srt_listen_callback": (ctypes.c_int, [SRTSOCKET, LISTEN_CALLBACK, ctypes.c_void_p]),
    "srt_accept": (SRTSOCKET, [SRTSOCKET, ctypes.c_void_p, _INT_P]),
    "srt_connect": (ctypes.c_int, [SRTSOCKET, ctypes.c_void_p, ctypes.c_int]),
    "srt_close": (ctypes.c_int, [SRTSOCKET]),
    "srt_getsockname": (ctypes.c_int, [SRTSOCKET, ctypes.c_void_p, _INT_P]),
    "srt_getpeername": (ctypes.c_int, [SRTSOCKET, ctypes.c_void_p, _INT_P]),
    "srt_getsockflag": (ctypes.c_int, [SRTSOCKET, ctypes.c_int, ctypes.c_void_p, _INT_P]),
    "srt_setsockflag": (ctypes.c_int, [SRTSOCKET, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]),
    "srt_getsockstate": (ctypes.c_int, [SRTSOCKET]),
    "srt_msgctrl_init": (None, [ctypes.POINTER(SrtMsgCtrl)]),
    "srt_sendmsg2": (
        ctypes.c_int,
        [SRTSOCKET, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(SrtMsgCtrl)],
    ),
    "srt_recvmsg2": (
        ctypes.c_int,
        [SRTSOCKET, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(SrtMsgCtrl)],
    ),
    "srt_getsndbuffer": (ctypes.c_int, [SRTSOCKET, _SIZE_P, _SIZE_P]),
    "srt_bistats": (
        ctypes.c_int,
        [SRTSOCKET, ctypes.POINTER(CBytePerfMon), ctypes.c_int, ctypes.c_int],
    ),
    "srt_getlasterror": (ctypes.c_int, [_INT_P]),
    "srt_getlasterror_str": (ctypes.c_char_p, []),
    "srt_clearlasterror": (None, []),
    "srt_getrejectreason": (ctypes.c_int, [SRTSOCKET]),
    "srt_setrejectreason": (ctypes.c_int, [SRTSOCKET, ctypes.c_int]),
    "srt_rejectreason_str": (ctypes.c_char_p, [ctypes.c_int]),
    "srt_epoll_create": (ctypes.c_int, []),
    "srt_epoll_add_usock": (ctypes.c_int, [ctypes.c_int, SRTSOCKET, _INT_P]),
    "srt_epoll_uwait": (
        ctypes.c_int,
        [ctypes.c_int, ctypes.POINTER(SrtEpollEvent), ctypes.c_int, ctypes.c_int64],
    ),
    "srt_epoll_release": (ctypes.c_int, [ctypes.c_int]),
    "srt_setloglevel": (None, [ctypes.c_int]),
}

LOG_CRIT = 2  # syslog levels; libsrt logs handshake rejections at "error" to stderr

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_cleaned_up = False


def _candidates() -> list[str]:
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        return [override]  # asked for one library: never fall back silently to another
    found = ctypes.util.find_library("srt")
    return [*SONAMES, *([found] if found else [])]


def _open() -> ctypes.CDLL:
    errors: list[str] = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise SrtLibraryMissing(
        f"libsrt not found ({'; '.join(errors)}). Install it with `{INSTALL_HINT}`, "
        f"or set {ENV_OVERRIDE} to the library's path"
    )


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            func = getattr(lib, name)
        except AttributeError as exc:
            raise SrtLibraryMissing(
                f"{lib._name} lacks {name}: libsrt 1.5 is needed (`{INSTALL_HINT}`)"
            ) from exc
        func.restype = restype
        func.argtypes = argtypes


def _load() -> ctypes.CDLL:
    lib = _open()
    _declare(lib)
    version = int(lib.srt_getversion())
    if version < MIN_VERSION:
        raise SrtLibraryMissing(
            f"{lib._name} is libsrt {version >> 16}.{(version >> 8) & 0xFF}; "
            f"1.5 or newer is needed (`{INSTALL_HINT}`)"
        )
    if int(lib.srt_startup()) < 0:
        raise SrtLibraryMissing(f"srt_startup failed in {lib._name}")
    # Rejected handshakes are normal for a listener (bad credentials) and are reported
    # through our own exceptions and logging; keep libsrt's stderr for the critical ones.
    lib.srt_setloglevel(LOG_CRIT)
    atexit.register(_cleanup)
    return lib


def _cleanup() -> None:
    global _lib, _cleaned_up
    with _lock:
        if _lib is not None:
            _lib.srt_cleanup()
            _lib = None
        _cleaned_up = True


def srt() -> ctypes.CDLL:
    """The loaded, started libsrt. Raises SrtLibraryMissing when it is not installed."""
    global _lib
    lib = _lib
    if lib is not None:
        return lib
    with _lock:
        if _cleaned_up:
            # A socket closed from a finalizer after exit cleanup must not restart libsrt.
            raise SrtClosed(-1, "libsrt was shut down at interpreter exit")
        if _lib is None:
            _lib = _load()
        return _lib


def version() -> str:
    """libsrt's version as "major.minor.patch"."""
    v = int(srt().srt_getversion())
    return f"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}"
