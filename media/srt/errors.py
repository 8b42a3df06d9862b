"""Named SRT errors. Callers catch these, never a bare ctypes or libsrt failure.

SrtError(code, message)              anything libsrt reported (code = SRT_ERRNO)
├── SrtLibraryMissing                libsrt could not be loaded (code -1)
├── SrtRejected(reason_code, ...)    the peer refused the handshake; reason_code says why
├── SrtTimeout                       connect, accept, send or recv ran out of time
├── SrtConnectionLost                the peer went away (or the link broke)
└── SrtClosed                        this side had already closed the socket
"""

from __future__ import annotations

from media.errors import MediaError

from .consts import SRT_ECONNREJ, reject_reason_name


class SrtError(MediaError):
    """libsrt said no. `code` is libsrt's SRT_ERRNO, `message` its text, read at once."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"SRT error {code}: {message}")
        self.code = code
        self.message = message


class SrtLibraryMissing(SrtError):
    """libsrt is not installed (or is too old); the message says what to install."""

    def __init__(self, message: str) -> None:
        super().__init__(-1, message)


class SrtRejected(SrtError):
    """The listener refused this caller during the handshake.

    `reason_code` is libsrt's reject reason: below 1000 libsrt's own (10 BADSECRET is a wrong
    passphrase, 11 UNSECURE a missing one), 1000 + an HTTP-like status when the listener's
    application refused it (1403 FORBIDDEN: the streamid's credential was not accepted).
    """

    def __init__(self, reason_code: int, what: str = "connect") -> None:
        self.reason_code = reason_code
        self.reason_name = reject_reason_name(reason_code)
        super().__init__(SRT_ECONNREJ, f"{what}: rejected, {self.reason_name} ({reason_code})")


class SrtTimeout(SrtError):
    """No peer answered, nothing arrived, or the send buffer stayed full, in time."""


class SrtConnectionLost(SrtError):
    """The connection is gone: the peer closed it or stopped answering."""


class SrtClosed(SrtError):
    """This side closed the socket (possibly from another thread) before or during the call."""
