"""SrtOptions: the socket options we use, validated up front, applied in libsrt's order."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import handle
from .consts import (
    PACKET_FILTER_MAX,
    SRT_LIVE_MAX_PLSIZE,
    SRT_PASSPHRASE_MAX,
    SRT_PASSPHRASE_MIN,
    SRT_STREAMID_MAX,
    SRTO_CONNTIMEO,
    SRTO_ENFORCEDENCRYPTION,
    SRTO_LATENCY,
    SRTO_PACKETFILTER,
    SRTO_PASSPHRASE,
    SRTO_PAYLOADSIZE,
    SRTO_PBKEYLEN,
    SRTO_PEERIDLETIMEO,
    SRTO_RCVSYN,
    SRTO_RCVTIMEO,
    SRTO_SNDSYN,
    SRTO_SNDTIMEO,
    SRTO_STREAMID,
    SRTO_TRANSTYPE,
    SRTT_LIVE,
)


def check_passphrase(passphrase: str) -> bytes:
    """The passphrase as libsrt takes it; ValueError (never echoing it) when libsrt would not."""
    raw = passphrase.encode("utf-8")
    if not SRT_PASSPHRASE_MIN <= len(raw) <= SRT_PASSPHRASE_MAX:
        raise ValueError(
            f"an SRT passphrase is {SRT_PASSPHRASE_MIN}..{SRT_PASSPHRASE_MAX} bytes, not {len(raw)}"
        )
    return raw


def check_packet_filter(config: str) -> str:
    """A packet filter config as libsrt reads it: ``name,key:value,...``, ASCII, no spaces;
    ValueError before libsrt sees it (which only says "invalid argument")."""
    if len(config) > PACKET_FILTER_MAX or not config.isascii():
        raise ValueError(f"a packet filter config is <= {PACKET_FILTER_MAX} ASCII bytes")
    name, *items = config.split(",")
    if not name.isidentifier() or any(item.count(":") != 1 or " " in item for item in items):
        raise ValueError(
            f"packet filter {config!r}: expected NAME,KEY:VALUE,... (e.g. fec,cols:10)"
        )
    return config


@dataclass(frozen=True)
class SrtOptions:
    """Options for a caller, or for a listener (which its accepted sockets inherit).

    Times are milliseconds, as libsrt counts them; -1 means "no limit" for the I/O timeouts.
    The passphrase and streamid (which carries a credential) stay out of repr and logs.
    """

    latency_ms: int = 120
    """Receiver buffer delay (SRTO_LATENCY: both directions). One-way delay ~ this value."""
    passphrase: str | None = field(default=None, repr=False)
    """AES passphrase, 10..79 bytes; None = no encryption (or, on a listener, decided per
    connection by the accept filter)."""
    pbkeylen: int = 32
    """AES key length in bytes: 16, 24 or 32 (AES-256)."""
    streamid: str | None = field(default=None, repr=False)
    """What the caller asks for (SRTO_STREAMID, <= 512 bytes); see streamid.py."""
    payload_size: int = 1316
    """Largest message, 7 x 188-byte TS packets by default; `send` chunks to this."""
    conn_timeout_ms: int = 3000
    """How long a caller's connect waits for the listener."""
    send_timeout_ms: int = -1
    recv_timeout_ms: int = -1
    """Default limits for send/recv; a per-call `timeout` overrides the receive one."""
    peer_idle_timeout_ms: int = 5000
    """Silence from the peer after which the connection counts as broken."""
    enforced_encryption: bool = True
    """Refuse a peer whose encryption does not match ours (SRTO_ENFORCEDENCRYPTION)."""
    packet_filter: str | None = None
    """SRTO_PACKETFILTER, e.g. ``fec,cols:10,rows:1,layout:staircase,arq:onreq`` (libsrt's
    built-in FEC). Both sides negotiate it in the handshake: a listener with a filter
    takes a caller's compatible config (the caller's keys win where both set one) and
    refuses a conflicting one (reject reason 14, FILTER); "" or None sets none."""

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, not {self.latency_ms}")
        if self.passphrase is not None:
            check_passphrase(self.passphrase)
        if self.pbkeylen not in (16, 24, 32):
            raise ValueError(f"pbkeylen must be 16, 24 or 32, not {self.pbkeylen}")
        if self.streamid is not None and len(self.streamid.encode()) > SRT_STREAMID_MAX:
            raise ValueError(f"streamid is longer than {SRT_STREAMID_MAX} bytes")
        if not 188 <= self.payload_size <= SRT_LIVE_MAX_PLSIZE:
            raise ValueError(f"payload_size must be 188..{SRT_LIVE_MAX_PLSIZE}")
        for name in ("conn_timeout_ms", "peer_idle_timeout_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.packet_filter:
            check_packet_filter(self.packet_filter)
        for name in ("send_timeout_ms", "recv_timeout_ms"):
            if getattr(self, name) < -1:
                raise ValueError(f"{name} must be >= -1")


def apply_options(sock: int, options: SrtOptions) -> None:
    """Set `options` on a fresh socket (before bind/connect)."""
    # TRANSTYPE first: setting it resets latency, payload size and friends to the
    # type's defaults, so anything set before it would be lost.
    handle.set_int(sock, SRTO_TRANSTYPE, SRTT_LIVE)
    # Blocking calls (ctypes drops the GIL while libsrt waits), bounded by the timeouts.
    handle.set_int(sock, SRTO_SNDSYN, 1)
    handle.set_int(sock, SRTO_RCVSYN, 1)
    handle.set_int(sock, SRTO_LATENCY, options.latency_ms)
    handle.set_int(sock, SRTO_PAYLOADSIZE, options.payload_size)
    handle.set_int(sock, SRTO_CONNTIMEO, options.conn_timeout_ms)
    handle.set_int(sock, SRTO_SNDTIMEO, options.send_timeout_ms)
    handle.set_int(sock, SRTO_RCVTIMEO, options.recv_timeout_ms)
    handle.set_int(sock, SRTO_PEERIDLETIMEO, options.peer_idle_timeout_ms)
    handle.set_int(sock, SRTO_ENFORCEDENCRYPTION, int(options.enforced_encryption))
    handle.set_int(sock, SRTO_PBKEYLEN, options.pbkeylen)
    if options.passphrase is not None:
        handle.set_bytes(sock, SRTO_PASSPHRASE, check_passphrase(options.passphrase))
    if options.streamid is not None:
        handle.set_bytes(sock, SRTO_STREAMID, options.streamid.encode("utf-8"))
    if options.packet_filter:
        # libsrt checks the syntax here (an unknown filter or key is an error at once);
        # whether the peer agrees is only known at the handshake.
        handle.set_bytes(sock, SRTO_PACKETFILTER, options.packet_filter.encode("ascii"))
