"""SRTP for the C send path (`_rtpout.Stream.send`): pylibsrtp's own libsrtp and sessions.

Why: for every packet of every viewer the send path once concatenated header, extension and
payload into new bytes, and pylibsrtp's `Session.protect` copied them into its buffer,
protected them and copied the result out again; later the packet was written into one buffer
and protected there, but the interpreter around it still cost ~10 us per packet and viewer.
`_rtpout.c` now does all of a unit in one call. It calls the `srtp_protect` that
pylibsrtp's extension carries, with the session's own libsrtp context, so the packets and
the session's SRTP state (rollover counter, replay list) are exactly those `Session.protect`
makes. Checked against pylibsrtp 1.0.0 (libsrtp 2: `srtp_protect(ctx, rtp, int *len)`);
`IncompatiblePylibsrtp` is raised at import if a release changes that.
"""

from __future__ import annotations

from pylibsrtp import Session

from cloud.gateway import _rtpout

try:
    from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a pylibsrtp built differently
    ffi = lib = None

PacketTooLong = _rtpout.PacketTooLong
SrtpFailed = _rtpout.SrtpFailed
# libsrtp 2's signature, as cffi spells it; libsrtp 3 takes separate in and out buffers.
PROTECT_TYPE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"


class IncompatiblePylibsrtp(RuntimeError):
    """The installed pylibsrtp lacks the libsrtp 2 internals the send path calls."""


def _install() -> None:
    if ffi is None or lib is None:
        raise IncompatiblePylibsrtp("pylibsrtp has no _binding")
    kind = ffi.typeof(lib.srtp_protect).cname
    if kind != PROTECT_TYPE:
        raise IncompatiblePylibsrtp(f"pylibsrtp's srtp_protect is {kind}, not {PROTECT_TYPE}")
    _rtpout.set_protect(int(ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect"))))


_install()


def context(session: Session) -> int:
    """The address of `session`'s libsrtp context, for `Stream.send`; valid only while the
    caller holds `session` (the context is freed with it)."""
    srtp = getattr(session, "_srtp", None)
    if srtp is None:
        raise IncompatiblePylibsrtp("pylibsrtp's Session has no _srtp")
    return int(ffi.cast("uintptr_t", srtp[0]))
