"""uvicorn's sans-I/O WebSocket protocol, plus the relay's frame writer (see `frames.py`).

Measured on loopback with 1,000 phones, the ASGI send path costs about as much Python per
phone as the socket write itself; writing the shared frame directly halves the fan-out time
(bench/tally_latency.py). Everything else, handshake and close included, is uvicorn's own.
This leans on the protocol's attributes (`transport`, `writable`, `close_sent`, ...), so the
relay tests run through it; `returnfeed-cloud --ws websockets-sansio` runs without it.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from cloud.relay.frames import FRAMES_EXTENSION


class _Writer:
    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> bool:
        p = self._protocol
        # `writable` is cleared while the transport's buffer is over its high-water mark: then
        # the message waits in the client's queue, and the socket's backlog stays bounded.
        if (
            not p.handshake_complete
            or p.close_sent
            or p.disconnected
            or not p.writable.is_set()
            or p.transport.is_closing()
        ):
            return False
        p.transport.write(frame)
        return True

    def abort(self) -> None:
        self._protocol.transport.abort()


class RelayWebSocketProtocol(WebSocketsSansIOProtocol):
    async def run_asgi(self) -> None:
        # The scope is complete by now and the application has not seen it yet.
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        extensions[FRAMES_EXTENSION] = _Writer(self)
        await super().run_asgi()
