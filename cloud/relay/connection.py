"""One client's WebSocket after it was accepted: hello, then a reader and a sender task.

The reader checks every message (size and shape, rate, role) before the room sees it; the
sender is the only code that writes to the socket, so a slow socket stalls only its sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect

from cloud import logs
from cloud.relay.bucket import TokenBucket
from cloud.relay.codes import CloseCode, Ending, ErrorCode
from cloud.relay.commands import Inbound, Join, Leave, Reply
from cloud.relay.frames import FRAMES_EXTENSION, FrameWriter, Outgoing
from cloud.relay.metrics import RelayMetrics
from cloud.relay.outlet import Outlet
from cloud.relay.peer import Identity, Peer
from cloud.relay.relay import Relay
from cloud.relay.room import Room
from tally import (
    TAKEOVER_CAPABILITY,
    Ack,
    Assign,
    BusChange,
    CamerasChange,
    ErrorMessage,
    Flash,
    Heartbeat,
    Hello,
    KeyframeRequest,
    Message,
    ProtocolError,
    Role,
    SnapshotRequest,
    TextMessage,
    encode,
    parse,
)

log = logging.getLogger(__name__)

# What each role may send (docs/relay.md, "Who may send what"); the rest is `forbidden`.
_EVERYONE: frozenset[type[Message]] = frozenset({Hello, Heartbeat, SnapshotRequest})
ALLOWED: dict[Role, frozenset[type[Message]]] = {
    Role.DIRECTOR: _EVERYONE | {BusChange, CamerasChange, TextMessage, Flash, Assign},
    Role.CAMERA: _EVERYONE | {Ack},
    Role.VIEWER: _EVERYONE | {KeyframeRequest},
}
MAX_MALFORMED_IN_A_ROW = 10
_MAX_REASON_BYTES = 123  # RFC 6455: a close frame's reason fits in 123 bytes


@dataclass(frozen=True, slots=True)
class Limits:
    queue: int
    burst: int
    rate: float
    timeout_s: float


def error_text(code: ErrorCode, message: str) -> str:
    return encode(ErrorMessage(code.value, message[:1000]))


def frame_writer(websocket: WebSocket) -> FrameWriter | None:
    writer: FrameWriter | None = websocket.scope.get("extensions", {}).get(FRAMES_EXTENSION)
    return writer


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        identity: Identity,
        relay: Relay,
        limits: Limits,
    ) -> None:
        self._ws = websocket
        self._identity = identity
        self._relay = relay
        self._limits = limits

    async def serve(self) -> None:
        try:
            hello = await asyncio.wait_for(self._hello(), self._limits.timeout_s)
        except TimeoutError:
            hello = Ending(CloseCode.TIMEOUT, "no hello in time")
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the client left before its hello was answered
        if isinstance(hello, Ending):
            await self.close(hello)
            return
        # The upgrade request's id is in the context: these lines and the room's carry it.
        said = logs.bound(
            log,
            session_id=self._identity.session_id,
            role=self._identity.role.value,
            participant_id=self._identity.participant_id,
        )
        said.info("relay: a %s joined", self._identity.role.value)
        loop = asyncio.get_running_loop()
        outlet = Outlet(self._ws.send_text, self._limits.queue, frame_writer(self._ws))
        peer = Peer(self._identity, outlet, loop.time())
        room = self._relay.room(self._identity.session_id)
        takeover = peer.role is Role.DIRECTOR and TAKEOVER_CAPABILITY in hello.capabilities
        room.submit(Join(peer, hello.camera, takeover))
        reader = asyncio.create_task(self._read(peer, room))
        sender = asyncio.create_task(self._send(peer))
        for task in (reader, sender):
            # Whichever way either ends, the connection ends: nothing waits on a dead task.
            task.add_done_callback(lambda _: peer.end(None))
        try:
            ending = await peer.ending
        finally:
            reader.cancel()
            sender.cancel()
            room.submit(Leave(peer))
            await asyncio.wait([reader, sender])
        code = "client left" if ending.code is None else int(ending.code)
        said.info("relay: the %s left (%s)", self._identity.role.value, code, extra={"code": code})
        await self.close(ending)

    async def close(self, ending: Ending) -> None:
        await close(self._ws, ending, self._limits.timeout_s, self._relay.deps.metrics)

    async def _receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text: str | None = message.get("text")
        if text is not None:
            return text
        data: bytes = message.get("bytes") or b""
        return data

    async def _hello(self) -> Hello | Ending:
        malformed = 0
        while True:
            data = await self._receive()
            if data is None:
                return Ending(None)
            try:
                message = parse(data)
            except ProtocolError as err:
                reply = error_text(ErrorCode.BAD_MESSAGE, str(err))
            else:
                if isinstance(message, Hello):
                    if message.role is not self._identity.role:
                        role = self._identity.role.value
                        return Ending(CloseCode.FORBIDDEN, f"this token is for a {role}")
                    return message
                reply = error_text(ErrorCode.UNEXPECTED, "send hello first")
            malformed += 1
            if malformed >= MAX_MALFORMED_IN_A_ROW:
                return Ending(CloseCode.MALFORMED, "too many malformed messages")
            await self._ws.send_text(reply)

    async def _read(self, peer: Peer, room: Room) -> None:
        loop = asyncio.get_running_loop()
        limits = self._limits
        bucket = TokenBucket(limits.burst, limits.rate, loop.time())
        allowed = ALLOWED[peer.role]
        malformed = refused = 0

        def reply(text: str) -> None:
            # Through the room, so that answers keep the order of the messages they answer.
            room.submit(Reply(peer, Outgoing(text)))

        while True:
            try:
                data = await self._receive()
            except (WebSocketDisconnect, RuntimeError, OSError):
                data = None
            if data is None:
                return  # the client left
            now = loop.time()
            peer.last_heard = now
            if not bucket.take(now):
                refused += 1
                if refused > limits.burst:
                    peer.end(CloseCode.RATE_LIMITED, "kept sending over the rate limit")
                    return
                if refused == 1:  # one reply per run of refusals, or the replies flood too
                    reply(error_text(ErrorCode.RATE_LIMITED, "over the rate limit"))
                continue
            refused = 0
            try:
                message = parse(data)
            except ProtocolError as err:
                malformed += 1
                if malformed >= MAX_MALFORMED_IN_A_ROW:
                    peer.end(CloseCode.MALFORMED, "too many malformed messages")
                    return
                reply(error_text(ErrorCode.BAD_MESSAGE, str(err)))
                continue
            malformed = 0
            if type(message) not in allowed:
                denied = f"a {peer.role.value} may not send {message.TYPE}"
                reply(error_text(ErrorCode.FORBIDDEN, denied))
            elif isinstance(message, Heartbeat):
                reply(encode(message))  # the echo lets the client measure its RTT
            elif isinstance(message, Hello):
                reply(error_text(ErrorCode.UNEXPECTED, "hello was already sent"))
            else:
                room.submit(Inbound(peer, message))

    async def _send(self, peer: Peer) -> None:
        with contextlib.suppress(Exception):  # the socket is gone, however the server says so
            await peer.outlet.run()


async def close(
    websocket: WebSocket, ending: Ending, timeout_s: float, metrics: RelayMetrics
) -> None:
    """Send the close frame with `ending`'s code and reason, unless the client already left."""
    if ending.code is None:
        return
    metrics.closed.labels(str(ending.code.value)).inc()
    reason = ending.reason.encode()[:_MAX_REASON_BYTES].decode(errors="ignore")
    try:
        await asyncio.wait_for(websocket.close(ending.code.value, reason), timeout_s)
    except TimeoutError:
        # A client that stopped reading never lets the close frame out, and a graceful close
        # would wait for it forever: drop the connection.
        writer = frame_writer(websocket)
        if writer is not None:
            writer.abort()
    except Exception:  # the socket went away meanwhile: nothing left to close
        return
