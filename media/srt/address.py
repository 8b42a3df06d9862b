"""IPv4/IPv6 addresses to and from the C sockaddr structures libsrt takes and returns."""

from __future__ import annotations

import ctypes
import socket

from .errors import SrtError
from .structs import SockaddrIn, SockaddrIn6, SockaddrStorage

Address = tuple[str, int]
"""(host, port) as Python's socket module writes it: "127.0.0.1" or "::1", and the port."""

Sockaddr = SockaddrIn | SockaddrIn6


def resolve(host: str, port: int, *, passive: bool = False) -> Sockaddr:
    """The first address getaddrinfo gives for (host, port), as a C sockaddr.

    `passive` is for binding: an empty host then means every local IPv4 address.
    """
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port out of range: {port}")
    try:
        infos = socket.getaddrinfo(
            host or ("0.0.0.0" if passive else None),  # noqa: S104 - only when asked to bind
            port,
            type=socket.SOCK_DGRAM,
            flags=socket.AI_PASSIVE if passive else 0,
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise SrtError(-1, f"cannot resolve {host!r}: {exc}") from exc
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            scope_id = int(sockaddr[3]) if len(sockaddr) == 4 else 0
            return to_sockaddr(family, str(sockaddr[0]), int(sockaddr[1]), scope_id)
    raise SrtError(-1, f"{host!r} has no IPv4 or IPv6 address")


def to_sockaddr(family: int, ip: str, port: int, scope_id: int = 0) -> Sockaddr:
    if family == socket.AF_INET:
        sa4 = SockaddrIn()
        sa4.sin_family = socket.AF_INET
        sa4.sin_port = socket.htons(port)
        sa4.sin_addr[:] = list(socket.inet_pton(socket.AF_INET, ip))
        return sa4
    sa6 = SockaddrIn6()
    sa6.sin6_family = socket.AF_INET6
    sa6.sin6_port = socket.htons(port)
    sa6.sin6_addr[:] = list(socket.inet_pton(socket.AF_INET6, ip.split("%", 1)[0]))
    sa6.sin6_scope_id = scope_id
    return sa6


def from_sockaddr(addr: int | None) -> Address:
    """Read an address libsrt handed us as a pointer; ("", 0) when there is none."""
    if not addr:
        return ("", 0)
    family = SockaddrStorage.from_address(addr).ss_family
    if family == socket.AF_INET:
        sa4 = SockaddrIn.from_address(addr)
        return socket.inet_ntop(socket.AF_INET, bytes(sa4.sin_addr)), socket.ntohs(sa4.sin_port)
    if family == socket.AF_INET6:
        sa6 = SockaddrIn6.from_address(addr)
        return socket.inet_ntop(socket.AF_INET6, bytes(sa6.sin6_addr)), socket.ntohs(sa6.sin6_port)
    return ("", 0)


def storage() -> tuple[SockaddrStorage, ctypes.c_int]:
    """An empty sockaddr_storage and its length, for calls that fill in an address."""
    return SockaddrStorage(), ctypes.c_int(ctypes.sizeof(SockaddrStorage))
