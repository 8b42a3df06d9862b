"""One UDP port for every viewer's ICE (`--webrtc-udp-port 8189`): one socket per host
address, shared by all viewers, so one firewall rule covers the gateway's WebRTC.

aioice gives each connection sockets of its own; here each viewer's connection gets instead
one `StunProtocol` per shared socket, whose transport sends through that socket. What
arrives is handed to a viewer (the design of pion's UDPMux, as MediaMTX uses it for
`webrtcLocalUDPAddress`):

- a STUN request by the local ufrag in its USERNAME (`LOCAL:REMOTE`): every ICE check and
  consent check names the viewer it is for, and the sender's address becomes that viewer's
  once a check carries the viewer's password (MESSAGE-INTEGRITY);
- a STUN response by its transaction, which only the viewer that asked holds (responses
  from one STUN server reach every viewer at the same address);
- anything else (DTLS, SRTP, SRTCP) by the sender's address, known from its checks.

Nothing else is delivered: an unknown ufrag or a datagram from an unknown address is
dropped and counted (`gateway_webrtc_udp_dropped_total{reason}`), logged once per reason.
A viewer's entries go when aioice closes its protocol (the viewer left, failed, or never
completed ICE and timed out), so the tables hold only live viewers.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any

import aioice.ice as ice
from aioice import stun
from aioice import turn as aioice_turn

log = logging.getLogger(__name__)

Address = tuple[str, int]
# A viewer's checks come from a few candidates of the browser; a peer that knows the ufrag
# but sends from ever new addresses must not grow the table without bound.
MAX_ADDRESSES_PER_VIEWER = 16
SEND_BUFFER_BYTES = 4 * 1024 * 1024
BUSY = (errno.EADDRINUSE, errno.EACCES)  # another socket holds the port
_STUN_FIRST_BYTES = range(4)  # RFC 7983: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP


class PortInUse(Exception):
    """The single WebRTC port cannot be bound (another program holds it)."""


class UfragTaken(Exception):
    """Two live viewers would share an ICE ufrag (attach() picks a free one)."""


class _MuxedTransport(asyncio.DatagramTransport):
    """What one viewer's StunProtocol sends through: the shared socket, and a close that
    removes the viewer from the mux instead of closing the socket."""

    def __init__(self, mux: _SocketMux, protocol: ice.StunProtocol) -> None:
        super().__init__()
        self._mux = mux
        self._protocol = protocol
        self._closing = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        if not self._closing and self._mux.transport is not None:
            self._mux.transport.sendto(data, addr)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._mux.release(self._protocol)
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    def is_closing(self) -> bool:
        return self._closing

    def get_write_buffer_size(self) -> int:
        # What the shared socket holds back, for rtpsend's backpressure: every viewer on
        # the port waits when it backs up, as they all share its send buffer.
        size = getattr(self._mux.transport, "get_write_buffer_size", None)
        return int(size()) if size is not None else 0

    def sending_transport(self) -> asyncio.DatagramTransport | None:
        """The shared socket's transport, whose socket rtpsend sends on directly while the
        event loop holds nothing back for it; None once closed."""
        return None if self._closing else self._mux.transport

    def abort(self) -> None:
        self.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return self._mux.sockname
        return default


class _SocketMux(asyncio.DatagramProtocol):
    """One shared socket and the viewers reached through it."""

    def __init__(self, sockname: Address, on_drop: Callable[[str], None]) -> None:
        self.sockname = sockname
        self.transport: asyncio.DatagramTransport | None = None
        self._on_drop = on_drop
        self.by_ufrag: dict[str, ice.StunProtocol] = {}
        self.by_address: dict[Address, ice.StunProtocol] = {}
        self._addresses: dict[ice.StunProtocol, set[Address]] = {}

    # --- viewers ----------------------------------------------------------------------------

    def join(self, connection: ice.Connection) -> ice.StunProtocol:
        ufrag = connection.local_username
        protocol = ice.StunProtocol(connection)
        protocol.connection_made(_MuxedTransport(self, protocol))
        self.by_ufrag[ufrag] = protocol
        self._addresses[protocol] = set()
        return protocol

    def release(self, protocol: ice.StunProtocol) -> None:
        ufrag = protocol.receiver.local_username
        if self.by_ufrag.get(ufrag) is protocol:
            del self.by_ufrag[ufrag]
        for address in self._addresses.pop(protocol, ()):
            if self.by_address.get(address) is protocol:
                del self.by_address[address]

    def _claim(self, address: Address, protocol: ice.StunProtocol) -> None:
        if self.by_address.get(address) is protocol:
            return
        mine = self._addresses.get(protocol)
        if mine is None or len(mine) >= MAX_ADDRESSES_PER_VIEWER:
            return
        previous = self.by_address.get(address)
        if previous is not None:  # the address moved on to a newer viewer (a NAT reused it)
            self._addresses[previous].discard(address)
        self.by_address[address] = protocol
        mine.add(address)

    # --- asyncio ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for protocol in list(self._addresses):
            protocol.transport.close()

    def error_received(self, exc: Exception) -> None:
        log.debug("WebRTC UDP %s: %s", self.sockname, exc)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        address: Address = (addr[0], addr[1])
        target, reason = self._route(data, address)
        if target is None:
            self._on_drop(reason)
            return
        try:
            target.datagram_received(data, address)
        except Exception:
            # An exception here would make asyncio close the socket: every viewer's.
            log.debug("WebRTC UDP datagram from %s failed", address, exc_info=True)
            self._on_drop("error")

    def _route(self, data: bytes, address: Address) -> tuple[ice.StunProtocol | None, str]:
        owner = self.by_address.get(address)
        if not data or data[0] not in _STUN_FIRST_BYTES:
            return owner, "unknown_address"
        try:
            message = stun.parse_message(data)
        except Exception:  # garbage: aioice would take it for data
            return owner, "unknown_address"
        if message.message_class == stun.Class.REQUEST:
            username = message.attributes.get("USERNAME")
            if not isinstance(username, str):
                return owner, "unknown_ufrag"
            target = self.by_ufrag.get(username.partition(":")[0])
            if target is None:
                return None, "unknown_ufrag"
            # Only a check signed with the viewer's password moves its address here; aioice
            # answers any other with a 401, as on a socket of the viewer's own.
            password = target.receiver.local_password.encode("utf8")
            if message.check_message_integrity(password):
                self._claim(address, target)
            return target, ""
        if message.message_class in (stun.Class.RESPONSE, stun.Class.ERROR):
            return self._asker(message.transaction_id, owner), "unknown_address"
        return owner, "unknown_address"

    def _asker(
        self, transaction_id: bytes, owner: ice.StunProtocol | None
    ) -> ice.StunProtocol | None:
        if owner is not None and transaction_id in owner.transactions:
            return owner
        for protocol in self._addresses:
            if transaction_id in protocol.transactions:
                return protocol
        return None


class UdpMux:
    """The shared sockets: bound at construction (so a port in use stops the start),
    served once `start()` has run on the event loop."""

    def __init__(self, port: int, addresses: Sequence[str]) -> None:
        self.port = port
        self._sockets = _bind(port, addresses)
        self.addresses = [s.getsockname()[0] for s in self._sockets]
        self._muxes: list[_SocketMux] = []
        self._on_drop: Callable[[str], None] = lambda reason: None
        self._drops_logged: set[str] = set()

    async def start(self, on_drop: Callable[[str], None]) -> None:
        self._on_drop = on_drop
        loop = asyncio.get_running_loop()
        sockets, self._sockets = self._sockets, []
        for sock in sockets:
            mux = _SocketMux(sock.getsockname()[:2], self._dropped)
            await loop.create_datagram_endpoint(lambda mux=mux: mux, sock=sock)  # type: ignore[misc]
            self._muxes.append(mux)

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()
        for mux in self._muxes:
            if mux.transport is not None:
                mux.transport.close()

    def join(self, connection: ice.Connection, addresses: Sequence[str]) -> list[ice.StunProtocol]:
        """One protocol per shared socket whose address `connection` would gather on."""
        wanted = [m for m in self._muxes if m.sockname[0] in addresses]
        if not self.ufrag_free(connection.local_username):
            raise UfragTaken(f"ICE ufrag {connection.local_username} is in use")
        return [m.join(connection) for m in wanted]

    def ufrag_free(self, ufrag: str) -> bool:
        return all(ufrag not in m.by_ufrag for m in self._muxes)

    @property
    def viewers(self) -> int:
        """Viewers with entries in the mux (a gauge: it falls back when they leave)."""
        return len({u for m in self._muxes for u in m.by_ufrag})

    @property
    def known_addresses(self) -> int:
        return sum(len(m.by_address) for m in self._muxes)

    def _dropped(self, reason: str) -> None:
        self._on_drop(reason)
        if reason not in self._drops_logged:  # once per reason: a flood must not fill the log
            self._drops_logged.add(reason)
            log.info("WebRTC UDP: dropping datagrams (%s), counted from now on", reason)


def bind_udp(address: str, port: int) -> socket.socket:
    """A UDP socket bound to `address`:`port`, or the OSError the OS gave."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock


def _bind(port: int, addresses: Sequence[str]) -> list[socket.socket]:
    bound: list[socket.socket] = []
    unusable: list[str] = []
    try:
        for address in dict.fromkeys(addresses):
            try:
                sock = bind_udp(address, port)
            except OSError as exc:
                if exc.errno in BUSY:
                    raise PortInUse(
                        f"UDP port {port} is in use on {address} ({exc.strerror}): stop what "
                        "holds it or choose another --webrtc-udp-port"
                    ) from None
                unusable.append(f"{address}: {exc.strerror}")  # not bindable on any port
                log.info("WebRTC host address %s unusable: %s", address, exc.strerror)
                continue
            # Every viewer's media goes out of this socket: as large a send buffer as the
            # system allows (net.core.wmem_max caps it), the receive buffer aioice uses.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, aioice_turn.UDP_SOCKET_BUFFER_SIZE)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            sock.setblocking(False)
            bound.append(sock)
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    if not bound:
        raise PortInUse(f"cannot bind UDP port {port} on any address: {'; '.join(unusable)}")
    return bound
