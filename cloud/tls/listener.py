"""Serving HTTPS with uvicorn, and answering what is not TLS on the HTTPS port.

uvicorn would hand every connection straight to OpenSSL: a browser that opens
`http://host:8443` then gets an empty reply and a user sees "connection closed". Here each
connection's first byte is peeked first: a TLS handshake (0x16) goes to uvicorn's own
protocol over TLS; anything else gets a plain-HTTP answer that says to use https (a redirect
for GET and HEAD). A failed handshake is logged with the peer and the reason. Neither ever
touches the server's other connections.

The optional redirect port answers every plain-HTTP request with a redirect to the HTTPS
port, and serves the local CA's certificate (when there is one) so a phone can fetch it
before it trusts the HTTPS port.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import uvicorn

log = logging.getLogger("returnfeed.cloud.tls")

STARTUP_FAILURE = 3  # what uvicorn exits with when it cannot start
TLS_HANDSHAKE = 0x16  # the first byte of a TLS ClientHello record
FIRST_BYTE_TIMEOUT_S = 10.0
HANDSHAKE_TIMEOUT_S = 10.0
MAX_REQUEST_HEAD = 8192
CA_MIME = "application/x-x509-ca-cert"
_REQUEST_LINE = re.compile(rb"^([A-Z]{3,10}) (/[!-~]*) HTTP/1\.[01]\r?$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$")


@dataclass(frozen=True, slots=True)
class PlainAnswers:
    """What plain HTTP is told: where HTTPS is, and the CA a phone may fetch first."""

    https_port: int
    public_https: str = ""  # an https:// base URL to redirect to instead of Host:https_port
    ca_pem: bytes | None = None


class PlainHttpAnswer(asyncio.Protocol):
    """Reads one request head and answers it: the CA, a redirect to https, or a 400 that
    says this port speaks HTTPS. Then closes."""

    def __init__(self, answers: PlainAnswers, on_tls_port: bool) -> None:
        self._answers = answers
        self._on_tls_port = on_tls_port
        self._buf = b""
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(FIRST_BYTE_TIMEOUT_S, self._answer)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        # Not a request line (answer at once), or the whole head.
        not_http = not self._buf[:1].isupper()
        whole = b"\r\n\r\n" in self._buf or b"\n\n" in self._buf
        if not_http or whole or len(self._buf) > MAX_REQUEST_HEAD:
            self._answer()

    def eof_received(self) -> bool | None:
        self._answer()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _answer(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._timer is not None:
            self._timer.cancel()
        method, target, host = _parse_head(self._buf[:MAX_REQUEST_HEAD])
        peer = transport.get_extra_info("peername")
        if self._answers.ca_pem is not None and method in ("GET", "HEAD") and target == "/ca.crt":
            transport.write(_response(200, "OK", self._answers.ca_pem, CA_MIME, method, ca=True))
        elif method in ("GET", "HEAD") and target is not None:
            location = self._https_url(host, target)
            text = f"This address speaks HTTPS. Open {location}\n".encode()
            transport.write(_response(301, "Moved Permanently", text, "text/plain", method,
                                      location=location))  # fmt: skip
        else:
            where = "port" if self._on_tls_port else "server"
            text = f"This {where} speaks HTTPS: use https://, not http://\n".encode()
            transport.write(_response(400, "Bad Request", text, "text/plain", method or "GET"))
        if self._on_tls_port:
            what = "a plain-HTTP request" if method else "bytes that are not TLS"
            log.info("%s from %s on the HTTPS port: told to use https", what, peer)
        transport.close()

    def _https_url(self, host: str | None, target: str) -> str:
        if self._answers.public_https:
            return self._answers.public_https.rstrip("/") + target
        name = "localhost"
        if host and (found := _HOST.match(host)):
            name = found.group(1)
        port = self._answers.https_port
        return f"https://{name}{'' if port == 443 else f':{port}'}{target}"


def _parse_head(head: bytes) -> tuple[str | None, str | None, str | None]:
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    found = _REQUEST_LINE.match(lines[0] + b"\r") or _REQUEST_LINE.match(lines[0])
    if found is None:
        return None, None, None
    host = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            host = value.strip().decode("latin-1")
            break
    return found.group(1).decode(), found.group(2).decode(), host


def _response(
    status: int,
    reason: str,
    body: bytes,
    content_type: str,
    method: str,
    location: str | None = None,
    ca: bool = False,
) -> bytes:
    head = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
    ]
    if location is not None:
        head.append(f"Location: {location}")
    if ca:
        head.append('Content-Disposition: attachment; filename="ReturnFeed-local-CA.crt"')
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (b"" if method == "HEAD" else body)


class SniffingListener:
    """Accepts on one socket, peeks at each connection's first byte, and hands TLS to
    `protocol_factory` over `context`; anything else to a PlainHttpAnswer."""

    def __init__(
        self,
        sock: socket.socket,
        context: ssl.SSLContext,
        protocol_factory: Callable[[], asyncio.Protocol],
        answers: PlainAnswers,
    ) -> None:
        self._sock = sock
        self._context = context
        self._factory = protocol_factory
        self._answers = answers
        self._pending: set[asyncio.Task[None]] = set()
        self._accepting: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sock.setblocking(False)
        self._accepting = asyncio.create_task(self._accept_forever(), name="tls-accept")

    def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        for task in list(self._pending):
            task.cancel()
        self._sock.close()

    async def wait_closed(self) -> None:
        if self._accepting is not None:
            await asyncio.gather(self._accepting, *self._pending, return_exceptions=True)

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, peer = await loop.sock_accept(self._sock)
            except OSError as exc:  # out of file descriptors, say: keep serving the others
                log.warning("cannot accept a connection: %s", exc)
                await asyncio.sleep(0.1)
                continue
            task = asyncio.create_task(self._serve(conn, peer))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _serve(self, conn: socket.socket, peer: object) -> None:
        loop = asyncio.get_running_loop()
        conn.setblocking(False)
        try:
            async with asyncio.timeout(FIRST_BYTE_TIMEOUT_S):
                await _readable(loop, conn)
            first = conn.recv(1, socket.MSG_PEEK)
        except (TimeoutError, OSError):
            conn.close()
            return
        except asyncio.CancelledError:
            conn.close()
            raise
        if not first:
            conn.close()
            return
        if first[0] != TLS_HANDSHAKE:
            answers = self._answers
            await loop.connect_accepted_socket(
                lambda: PlainHttpAnswer(answers, on_tls_port=True), sock=conn
            )
            return
        try:
            await loop.connect_accepted_socket(
                self._factory,
                sock=conn,
                ssl=self._context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
            )
        except (OSError, TimeoutError, ConnectionError) as exc:  # ssl.SSLError is an OSError
            log.info("TLS handshake from %s failed: %s", peer, _reason(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return f"{exc.reason} ({exc.library or 'ssl'})"
    return str(exc) or type(exc).__name__


async def _readable(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(conn.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(conn.fileno())


class TlsServer(uvicorn.Server):
    """uvicorn's server with its listening socket served by a SniffingListener, and the
    optional plain-HTTP redirect port beside it."""

    def __init__(
        self,
        config: uvicorn.Config,
        context: ssl.SSLContext,
        answers: PlainAnswers,
        redirect_port: int | None,
    ) -> None:
        super().__init__(config)
        self._context = context
        self._answers = answers
        self._redirect_port = redirect_port

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config = self.config

        def create_protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )

        loop = asyncio.get_running_loop()
        opened: list[object] = []
        try:
            sock = _listen(config.host, config.port, config.backlog)
            listener = SniffingListener(sock, self._context, create_protocol, self._answers)
            listener.start()
            opened.append(listener)
            if self._redirect_port is not None:
                answers = self._answers
                redirect = await loop.create_server(
                    lambda: PlainHttpAnswer(answers, on_tls_port=False),
                    host=config.host,
                    port=self._redirect_port,
                )
                opened.append(redirect)
        except OSError as exc:
            logging.getLogger("uvicorn.error").error(exc)
            for server in opened:
                server.close()  # type: ignore[attr-defined]
            await self.lifespan.shutdown()
            sys.exit(STARTUP_FAILURE)
        # uvicorn's shutdown only calls close() on these.
        self.servers = opened  # type: ignore[assignment]
        log.info("serving HTTPS on %s:%d", config.host, config.port)
        if self._redirect_port is not None:
            log.info("redirecting plain HTTP on port %d to HTTPS", self._redirect_port)
        self.started = True


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock
