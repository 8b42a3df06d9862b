"""Which of a viewer's ICE candidates the gateway will send connectivity checks to.

Every remote candidate in an offer becomes STUN traffic from this server to that address
and port, retried for up to half a minute. A viewer may only point the server at places a
browser could really be listening, so before aiortc sees the offer:

- at most MAX_CANDIDATES are kept (browsers list the best first; one gathers well under
  ten: a host candidate per interface and family, a server-reflexive one, a relay);
- UDP only (aiortc does no ICE-TCP);
- an IP address, or an mDNS name ending in `.local` (RFC 8828: how browsers hide host
  addresses; aioice resolves those on the local link only). Other names would make the
  server resolve whatever a viewer wrote;
- not multicast, unspecified (0.0.0.0, ::), reserved (240.0.0.0/4, 255.255.255.255) or
  IPv6 link-local, which no single browser answers from;
- not loopback, unless the backend itself listens on loopback (a browser on the same
  machine; the tests): otherwise it would probe the server's own local services;
- port 1024..65535: browsers never gather on privileged ports, and DNS, NTP and the
  like listen there.

The rest are dropped from the offer; an offer left with none is refused (400).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field

MAX_CANDIDATES = 24
_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\S+) (\S+) (\S+) (\S+) (\S+) typ (\S+).*?\r?\n", re.M)


def refusal(transport: str, host: str, port: int, loopback_ok: bool) -> str | None:
    """Why the gateway will not check this candidate, as a short word; None: it will."""
    if transport.lower() != "udp":
        return "transport"
    if not 1024 <= port <= 65535:
        return "port"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None if host.lower().endswith(".local") else "hostname"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if loopback_ok else "loopback"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_link_local:
        return "address"
    return None


@dataclass
class Screened:
    sdp: str
    offered: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


def screen(sdp: str, loopback_ok: bool) -> Screened:
    """`sdp` without the candidates `refusal` names, and without those past the cap."""
    out = Screened(sdp)

    def keep(match: re.Match[str]) -> str:
        out.offered += 1
        transport, host, port = match.group(3), match.group(5), match.group(6)
        reason = refusal(transport, host, int(port), loopback_ok) if port.isdigit() else "port"
        if reason is None and out.kept >= MAX_CANDIDATES:
            reason = "over_cap"
        if reason is not None:
            out.dropped[reason] += 1
            return ""
        out.kept += 1
        return match.group(0)

    out.sdp = _CANDIDATE.sub(keep, sdp)
    return out
