"""Relay test clients: real `websockets` connections on loopback that speak the tally protocol."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tally import (
    PROTOCOL_VERSION,
    TAKEOVER_CAPABILITY,
    Assign,
    Directors,
    ErrorMessage,
    Heartbeat,
    Hello,
    Message,
    Role,
    Snapshot,
    encode,
    parse,
)
from tests.support.api import Director, bearer, create_session, invite, redeem, register
from tests.support.cloud import CloudServer

M = TypeVar("M", bound=Message)
SUBPROTOCOL = Subprotocol("returnfeed.v1")


@dataclass
class Show:
    """A director's session on a server, and the means to hand out phone and viewer links."""

    server: CloudServer
    director: Director
    session_id: str

    @property
    def url(self) -> str:
        return self.server.base_url.replace("http://", "ws://") + f"/api/relay/{self.session_id}"

    def http(self) -> httpx.Client:
        return self.server.client()

    def join(self, role: str = "camera", camera: int | None = None, **body: Any) -> dict[str, Any]:
        """Redeem a fresh invite; returns the join response (participant, token)."""
        with self.http() as c:
            link = invite(c, self.director, self.session_id, role, camera)
            r = redeem(c, link["token"], **body)
            assert r.status_code == 201, r.text
            joined: dict[str, Any] = r.json()
            joined["invite_id"] = link["id"]
            return joined

    def token(self, role: str = "camera", camera: int | None = None) -> str:
        return str(self.join(role, camera)["participant_token"])

    def sign_in(self) -> str:
        """The director signs in once more (a second laptop): an access token of a new login."""
        with self.http() as c:
            body = {"email": self.director.email, "password": self.director.password}
            r = c.post("/api/auth/login", json=body)
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])


def new_show(server: CloudServer, cameras: int = 3) -> Show:
    with server.client() as c:
        director = register(c)
        session = create_session(c, director, cameras=cameras)
    return Show(server, director, session["id"])


class Peer:
    """One client. `recv` skips heartbeats; everything else must be expected explicitly."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.snapshot: Snapshot | None = None
        self.directors: Directors | None = None  # a director's first, read after the snapshot
        self._beats: asyncio.Task[None] | None = None

    async def send(self, message: Message | str | bytes) -> None:
        await self.ws.send(encode(message) if not isinstance(message, str | bytes) else message)

    async def recv(self, within: float = 5.0) -> Message:
        deadline = time.monotonic() + within
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.monotonic()))
            message = parse(raw)
            if not isinstance(message, Heartbeat):
                return message

    async def expect(self, kind: type[M], within: float = 5.0) -> M:
        message = await self.recv(within)
        assert isinstance(message, kind), f"expected {kind.TYPE}, got {message}"
        return message

    async def expect_error(self, code: str, within: float = 5.0) -> ErrorMessage:
        error = await self.expect(ErrorMessage, within)
        assert error.code == code, error
        return error

    async def quiet(self, seconds: float) -> None:
        """Nothing but heartbeats arrives for `seconds`."""
        with contextlib.suppress(TimeoutError):
            message = await self.recv(seconds)
            raise AssertionError(f"expected nothing, got {message}")

    async def closed(self, within: float = 5.0) -> tuple[int, str]:
        """Read until the server closes; the close code and reason."""
        try:
            async with asyncio.timeout(within):
                async for _ in self.ws:
                    pass
        except ConnectionClosed:
            pass
        assert self.ws.close_code is not None, "the connection is still open"
        return self.ws.close_code, self.ws.close_reason or ""

    def beat(self, every: float) -> None:
        """Send heartbeats in the background, as a phone does."""

        async def beats() -> None:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await self.send(Heartbeat(time.time() * 1000))
                    await asyncio.sleep(every)

        self._beats = asyncio.create_task(beats())

    def stop_beating(self) -> None:
        if self._beats is not None:
            self._beats.cancel()


@asynccontextmanager
async def connect_peer(
    url: str,
    token: str | None,
    role: Role | None,
    *,
    header: bool = False,
    camera: int | None = None,
    assign: int | None = None,
    beat: float | None = None,
    takeover: bool = False,
) -> AsyncIterator[Peer]:
    """Connect; with a role, say hello and read the snapshot into `peer.snapshot`.

    A phone with a camera is told its camera (`assign`) right after its snapshot; pass the
    camera it should be told as `assign` and that message is checked and read too. A director
    is told who else directs right after its snapshot: read into `peer.directors`.
    """
    subprotocols = [SUBPROTOCOL]
    headers = {}
    if token is not None and header:
        headers = bearer(token)
    elif token is not None:
        subprotocols.append(Subprotocol(f"bearer.{token}"))
    async with connect(
        url,
        subprotocols=subprotocols,
        additional_headers=headers,
        compression=None,
        ping_interval=None,
        open_timeout=10,
        max_size=None,
    ) as ws:
        peer = Peer(ws)
        if role is not None:
            capabilities = (TAKEOVER_CAPABILITY,) if takeover else ()
            await peer.send(Hello(role, PROTOCOL_VERSION, capabilities, camera))
            peer.snapshot = await peer.expect(Snapshot)
            if role is Role.DIRECTOR:
                peer.directors = await peer.expect(Directors)
        if assign is not None:
            told = await peer.expect(Assign)
            assert told.camera == assign, told
        if beat is not None:
            peer.beat(beat)
        try:
            yield peer
        finally:
            peer.stop_beating()


def metric(server: CloudServer, name: str, **labels: str) -> float:
    """A counter or gauge from /metrics (0 when it has no sample yet)."""
    text = server.metrics_text()
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if wanted else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
