"""Where a layer goes: an SRT listener, the streamid naming session + layer + credential,
the passphrase, and the latency profile."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from media.srt import SrtOptions
from media.srt.options import check_packet_filter


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """SRT timing for a kind of network. One-way delay is about `latency_ms`."""

    name: str
    latency_ms: int
    conn_timeout_ms: int  # libsrt rounds it up to whole seconds
    # Silence after which the link counts as broken. libsrt also wants 16 expiry periods
    # (>= 300 ms each) first, so a frozen peer is noticed after ~5 s at best (measured).
    peer_idle_timeout_ms: int
    # So the sender watches the ACKs itself: sending and hearing none for this long means
    # the listener is gone (sender.py reconnects). A live receiver ACKs every 10 ms.
    ack_silence_ms: int


LAN = LatencyProfile(
    "lan", latency_ms=20, conn_timeout_ms=1000, peer_idle_timeout_ms=2000, ack_silence_ms=1500
)
WAN = LatencyProfile(
    "wan", latency_ms=120, conn_timeout_ms=3000, peer_idle_timeout_ms=5000, ack_silence_ms=4000
)
PROFILES = {p.name: p for p in (LAN, WAN)}


def profile_for(host: str) -> LatencyProfile:
    """LAN for loopback and private addresses (resolved if a name), WAN otherwise."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        address = ipaddress.ip_address(str(infos[0][4][0]).split("%", 1)[0])
    except (OSError, ValueError, IndexError):
        return WAN
    return LAN if address.is_loopback or address.is_private or address.is_link_local else WAN


# libsrt's built-in FEC: one parity packet per row of 10 (10 % more packets); a retransmission
# is asked for at once too ("always"), so FEC only ever makes a repair earlier. bench/wan_latency.py
# measured what it buys (docs/deploy.md, "A sender on the internet").
FEC_DEFAULT = "fec,cols:10,rows:1,layout:staircase,arq:always"


def fec_config(value: str) -> str | None:
    """`--srt-fec`: "off" -> None, "on" -> FEC_DEFAULT, or a libsrt config ("fec,cols:..")."""
    text = value.strip()
    if text.lower() in ("", "off", "no", "none"):
        return None
    if text.lower() in ("on", "yes"):
        return FEC_DEFAULT
    if not text.startswith("fec,") and text != "fec":
        raise ValueError(f"--srt-fec {value!r}: off, on, or a libsrt config like {FEC_DEFAULT}")
    check_packet_filter(text)
    return text


@dataclass(frozen=True, slots=True)
class SrtTarget:
    host: str
    port: int
    streamid: str = field(repr=False)  # carries the publish token: never logged
    passphrase: str | None = field(default=None, repr=False)
    profile: LatencyProfile = WAN
    latency_ms: int | None = None  # fixed: overrides the profile's and the measured link's
    packet_filter: str | None = None  # SRTO_PACKETFILTER (FEC), e.g. FEC_DEFAULT; None: none

    def options(self) -> SrtOptions:
        return SrtOptions(
            latency_ms=self.profile.latency_ms if self.latency_ms is None else self.latency_ms,
            passphrase=self.passphrase,
            streamid=self.streamid,
            conn_timeout_ms=self.profile.conn_timeout_ms,
            peer_idle_timeout_ms=self.profile.peer_idle_timeout_ms,
            # Live mode drops what is too late rather than blocking, so a send only waits
            # for buffer space in pathological cases; never wait longer than this.
            send_timeout_ms=500,
            packet_filter=self.packet_filter,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_srt_url(url: str) -> tuple[str, int]:
    """(host, port) from ``srt://host:port``. Options do not go in the URL: a passphrase
    there would end up in shell history and process lists."""
    parts = urlsplit(url)
    if parts.scheme != "srt" or not parts.hostname or parts.port is None:
        raise ValueError("expected srt://host:port")
    if parts.query or parts.path not in ("", "/") or parts.username or parts.password:
        raise ValueError(
            "give only srt://host:port; passphrase and streamid have their own options"
        )
    return parts.hostname, parts.port
