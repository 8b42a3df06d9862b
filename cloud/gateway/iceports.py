"""Where the gateway's ICE listens: a fixed UDP port range, or one UDP port for all
viewers, and extra host candidates for a 1:1 NAT (the one module that reaches into aioice's
gathering).

aioice binds every host candidate to port 0 (any free port: aiortc #487), so a firewall in
front of the gateway would have to open all of UDP. Two ways out:

- `--webrtc-udp-port 8189`: every viewer's host candidates carry that one port; the
  sockets are shared and what arrives is handed to the right viewer by ICE ufrag and
  address (udpmux.py). One firewall rule, no limit from ports.
- `--webrtc-udp-ports 40000-40999`: each viewer's ICE connection gets one port number of
  the range, bound on every host address. The range is searched from a cursor that moves
  on after each viewer (a port just freed is not handed out again at once, so a late packet
  of the last viewer does not meet the next one); a port the OS refuses is skipped. When no
  port in the range is free for all the addresses, gathering raises `NoFreePort` ("no free
  UDP port in 40000-40009"), which the WHEP endpoint answers with a 503: never a hang,
  never a silent answer without candidates (aioice PR #112 drops the host candidate of an
  exhausted range instead).

Either way a 1:1 NAT's public address (`--webrtc-public-ip`) is advertised with the same
port.

What it touches in aioice, checked against aioice 0.13.0 (with aiortc 1.16.0):
`Connection.get_component_candidates` (wrapped at class level; a connection without a plan
attached gathers exactly as before), `Connection._protocols` (the host sockets it reads
and closes), `Connection._local_username` (a ufrag another viewer on the shared port holds
is drawn again before the answer is written), `StunProtocol(connection)`, its
`local_candidate` and `transactions`, `stun.parse_message` and
`Message.check_message_integrity`, `server_reflexive_candidate` (for a configured STUN
server), `turn.UDP_SOCKET_BUFFER_SIZE`; and in aiortc the path from
a transceiver to its `Connection` (`RTCIceGatherer._connection`). `check_aioice()` raises
`IncompatibleAioice` when one of them is missing; `install()` calls it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aioice.ice as ice
from aioice import stun as aioice_stun
from aioice import turn as aioice_turn
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.utils import random_string
from aiortc import RTCPeerConnection

from cloud.gateway.udpmux import BUSY, UdpMux, UfragTaken, bind_udp

log = logging.getLogger(__name__)

_PLAN = "_returnfeed_ice_plan"  # the attribute a planned aioice Connection carries
_WRAPPED = "_returnfeed_wrapped"
GATHER_TIMEOUT_S = 5  # aioice's own for STUN and TURN


class IncompatibleAioice(RuntimeError):
    """The installed aioice/aiortc lacks an internal this module relies on."""


class NoFreePort(Exception):
    """Every port of the range is taken (by other viewers or other programs)."""


@dataclass(frozen=True, slots=True)
class PortRange:
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def parse_port_range(text: str) -> PortRange:
    """``40000-40999`` (inclusive) or one port ``40000``; ValueError with the reason."""
    first_text, sep, last_text = text.strip().partition("-")
    try:
        first = int(first_text)
        last = int(last_text) if sep else first
    except ValueError:
        raise ValueError(f"UDP port range {text!r} is not FIRST-LAST, e.g. 40000-40999") from None
    if not 1024 <= first <= 65535 or not 1024 <= last <= 65535:
        raise ValueError(f"UDP port range {text!r}: ports must be 1024..65535")
    if last < first:
        raise ValueError(f"UDP port range {text!r}: the last port is below the first")
    return PortRange(first, last)


def parse_port(text: str) -> int:
    """One UDP port ``8189``, 1024..65535; ValueError with the reason."""
    try:
        port = int(text.strip())
    except ValueError:
        raise ValueError(f"UDP port {text!r} is not a number, e.g. 8189") from None
    if not 1024 <= port <= 65535:
        raise ValueError(f"UDP port {text!r}: ports must be 1024..65535")
    return port


def parse_public_ip(text: str) -> str:
    """A literal IPv4 or IPv6 address (no name: a candidate carries an address)."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(f"public IP {text!r} is not an IPv4 or IPv6 address") from None
    if address.is_unspecified or address.is_multicast:
        raise ValueError(f"public IP {text!r} cannot be a candidate address")
    return str(address)


class PortAllocator:
    """Hands out one port number of the range per ICE component, bound on every address.

    Synchronous on purpose: the search and the binds happen in one go on the event loop, so
    two viewers answering at once never race for the same port. The OS is the only record
    of what is taken (a port is free again once its sockets close).
    """

    def __init__(self, ports: PortRange) -> None:
        self.ports = ports
        self._cursor = random.randrange(ports.size)

    def bind(self, addresses: Sequence[str]) -> tuple[int, list[socket.socket]]:
        """One port free on all `addresses` (each bound socket, same order, skipping an
        address the OS will not bind at all); NoFreePort when there is none."""
        unusable: dict[str, OSError] = {}
        for _ in range(self.ports.size):
            port = self.ports.first + self._cursor
            self._cursor = (self._cursor + 1) % self.ports.size
            sockets = self._bind_all(port, addresses, unusable)
            if sockets is not None:
                if sockets:
                    return port, sockets
                break  # no address can be bound at all: no port will do better
        if unusable and len(unusable) == len(addresses):
            reasons = "; ".join(f"{a}: {e.strerror}" for a, e in unusable.items())
            raise NoFreePort(f"cannot bind a UDP port in {self.ports}: {reasons}")
        raise NoFreePort(f"no free UDP port in {self.ports}")

    def _bind_all(
        self, port: int, addresses: Sequence[str], unusable: dict[str, OSError]
    ) -> list[socket.socket] | None:
        bound: list[socket.socket] = []
        for address in addresses:
            if address in unusable:
                continue
            try:
                sock = bind_udp(address, port)
            except OSError as exc:
                if exc.errno in BUSY:
                    for other in bound:
                        other.close()
                    return None  # this port is taken somewhere: the next one
                unusable[address] = exc  # this address cannot be bound on any port
                log.info("ICE host address %s unusable: %s", address, exc)
                continue
            bound.append(sock)
        return bound


@dataclass(frozen=True, slots=True)
class IcePlan:
    """How one viewer's ICE connection gathers: its port from `ports` (a port of the range
    for this viewer alone, or the one port every viewer shares), plus each of `public_ips`
    as a host candidate with that port (a 1:1 NAT forwards it unchanged)."""

    ports: PortAllocator | UdpMux
    public_ips: tuple[str, ...] = ()


def check_aioice() -> None:
    """Raise IncompatibleAioice unless the internals this module uses are there."""
    missing = [
        name
        for name, ok in (
            (
                "Connection.get_component_candidates",
                hasattr(ice.Connection, "get_component_candidates"),
            ),
            ("StunProtocol", hasattr(ice, "StunProtocol")),
            ("server_reflexive_candidate", hasattr(ice, "server_reflexive_candidate")),
            ("turn.UDP_SOCKET_BUFFER_SIZE", hasattr(aioice_turn, "UDP_SOCKET_BUFFER_SIZE")),
            ("stun.parse_message", hasattr(aioice_stun, "parse_message")),
            (
                "stun.Message.check_message_integrity",
                hasattr(aioice_stun.Message, "check_message_integrity"),
            ),
            (  # an attribute its __init__ sets; making one needs an event loop
                "StunProtocol.transactions",
                "transactions" in ice.StunProtocol.__init__.__code__.co_names,
            ),
        )
        if not ok
    ]
    probe = ice.Connection(ice_controlling=False)
    for attribute in ("_protocols", "_local_username", "stun_server", "turn_server"):
        if not hasattr(probe, attribute):
            missing.append(f"Connection.{attribute}")
    if missing:
        raise IncompatibleAioice(f"aioice lacks {', '.join(missing)} (checked against 0.13.0)")


def install() -> None:
    """Wrap aioice's host gathering once per process; connections without a plan gather
    as before."""
    current = ice.Connection.get_component_candidates
    if getattr(current, _WRAPPED, False):
        return
    check_aioice()
    original: Callable[..., Awaitable[list[Candidate]]] = current

    async def get_component_candidates(
        self: ice.Connection,
        component: int,
        addresses: list[str],
        timeout: int = GATHER_TIMEOUT_S,  # noqa: ASYNC109 - aioice's own signature
    ) -> list[Candidate]:
        plan: IcePlan | None = getattr(self, _PLAN, None)
        if plan is None:
            return await original(self, component, addresses, timeout)
        return await _gather(self, plan, original, component, addresses, timeout)

    setattr(get_component_candidates, _WRAPPED, True)
    ice.Connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]


def attach(pc: RTCPeerConnection, plan: IcePlan) -> None:
    """Make every ICE connection `pc` has now gather by `plan`. Call it after
    addTransceiver and before createAnswer (which writes the ufrag) and setLocalDescription
    (which gathers)."""
    for transceiver in pc.getTransceivers():
        gatherer = transceiver.sender.transport.transport.iceGatherer
        connection = getattr(gatherer, "_connection", None)
        if connection is None:
            raise IncompatibleAioice("aiortc's RTCIceGatherer has no _connection")
        assign(connection, plan)


def assign(connection: ice.Connection, plan: IcePlan) -> None:
    """Make one aioice connection gather by `plan` (before it gathers)."""
    install()
    if isinstance(plan.ports, UdpMux):
        # The shared port tells viewers apart by ufrag: no two live ones may share one.
        while not plan.ports.ufrag_free(connection.local_username):
            connection._local_username = random_string(4)
    setattr(connection, _PLAN, plan)


async def _gather(
    connection: ice.Connection,
    plan: IcePlan,
    original: Callable[..., Awaitable[list[Candidate]]],
    component: int,
    addresses: list[str],
    wait_s: int,
) -> list[Candidate]:
    if isinstance(plan.ports, UdpMux):
        port = plan.ports.port
        try:
            joined = plan.ports.join(connection, addresses)
        except UfragTaken as exc:  # two answers at once drew one ufrag: the page retries
            raise NoFreePort(str(exc)) from None
        hosts = _adopt(connection, component, joined)
    else:
        port, sockets = plan.ports.bind(addresses)
        hosts = await _host_candidates(connection, component, sockets)
    # The public addresses have no socket of their own: a 1:1 NAT delivers what is sent to
    # them to the private address's socket, which answers the checks (aioice sees the
    # browser as a peer-reflexive candidate). They only have to be in the answer.
    public = [_host(component, address, port) for address in plan.public_ips]
    # STUN (srflx) and TURN (relay) as aioice does them, on our host sockets.
    others = await _server_candidates(connection, original, component, wait_s)
    return [*hosts, *public, *others]


def _host(component: int, address: str, port: int) -> Candidate:
    return Candidate(
        foundation=candidate_foundation("host", "udp", address),
        component=component,
        transport="udp",
        priority=candidate_priority(component, "host"),
        host=address,
        port=port,
        type="host",
    )


async def _host_candidates(
    connection: ice.Connection, component: int, sockets: list[socket.socket]
) -> list[Candidate]:
    loop = asyncio.get_running_loop()
    protocols: list[ice.StunProtocol] = []
    try:
        for sock in sockets:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, aioice_turn.UDP_SOCKET_BUFFER_SIZE)
            _, protocol = await loop.create_datagram_endpoint(
                lambda: ice.StunProtocol(connection), sock=sock
            )
            protocols.append(protocol)
    except BaseException:
        for protocol in protocols:
            protocol.transport.close()
        for sock in sockets[len(protocols) :]:
            sock.close()
        raise
    return _adopt(connection, component, protocols)


def _adopt(
    connection: ice.Connection, component: int, protocols: list[ice.StunProtocol]
) -> list[Candidate]:
    """Make `protocols` the connection's host candidates, as aioice's own would be."""
    for protocol in protocols:
        address = protocol.transport.get_extra_info("sockname")
        protocol.local_candidate = _host(component, address[0], address[1])
    connection._protocols += protocols
    return [p.local_candidate for p in protocols]


async def _server_candidates(
    connection: ice.Connection,
    original: Callable[..., Awaitable[list[Candidate]]],
    component: int,
    wait_s: int,
) -> list[Candidate]:
    work: list[Awaitable[Any]] = []
    if connection.turn_server is not None:
        # With no addresses aioice binds no host socket and asks only the TURN server.
        work.append(original(connection, component, [], wait_s))
    if connection.stun_server is not None:
        work.extend(
            asyncio.wait_for(ice.server_reflexive_candidate(p, connection.stun_server), wait_s)
            for p in list(connection._protocols)
            if p.local_candidate.type == "host"
            and p.local_candidate.component == component
            and ipaddress.ip_address(p.local_candidate.host).version == 4
        )
    found: list[Candidate] = []
    for result in await asyncio.gather(*work, return_exceptions=True):
        if isinstance(result, list):
            found += result
        elif isinstance(result, tuple):
            found.append(result[0])
        elif isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
        else:
            log.info("ICE server candidate not gathered: %s", result)
    return found
