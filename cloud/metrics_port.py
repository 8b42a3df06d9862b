"""/metrics on a port of its own (`--metrics-port`), for a scraper on a private network.

It serves the same scrape as the API's /metrics, with no token and nothing else (every other
path is 404), so a firewall rule that opens it to the scraper alone is the whole protection.
The socket is bound when the app is built, so a port in use stops the start with its number
instead of failing later; it serves from the app's lifespan on the same event loop, through
uvicorn's own HTTP protocol.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.types import ASGIApp
from uvicorn.server import ServerState


class MetricsPortInUse(Exception):
    """The metrics port cannot be bound."""


class MetricsListener:
    def __init__(self, host: str, port: int, app: ASGIApp) -> None:
        self._app = app
        self._sock = _bind(host, port)
        self._state = ServerState()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    async def start(self) -> None:
        # No lifespan (the API's own runs the backend), no access log, no logging set-up.
        config = uvicorn.Config(
            self._app, lifespan="off", access_log=False, log_config=None, proxy_headers=False
        )
        config.load()
        state = self._state

        def protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state={}
            )

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, sock=self._sock)

    async def close(self) -> None:
        if self._server is None:
            self._sock.close()
            return
        self._server.close()
        for connection in list(self._state.connections):
            connection.shutdown()
        await self._server.wait_closed()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(16)
    except OSError as exc:
        sock.close()
        raise MetricsPortInUse(
            f"cannot listen for metrics on {host}:{port}: {exc.strerror}"
        ) from exc
    sock.setblocking(False)
    return sock
