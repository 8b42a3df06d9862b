"""Heartbeats, the silent-client timeout, the rate limit, and dropping a phone that reads slowly."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from websockets.exceptions import ConnectionClosed

from tally import (
    PROTOCOL_VERSION,
    BusChange,
    Camera,
    CamerasChange,
    Delta,
    ErrorMessage,
    Heartbeat,
    Hello,
    Role,
    Snapshot,
    SnapshotRequest,
    encode,
    parse,
)
from tests.cloud.relay.peers import Peer, Show, connect_peer, metric


async def _next_echo(peer: Peer, ts: float) -> None:
    """Read until the echo of our heartbeat `ts` (the relay's own heartbeats have its clock)."""
    while True:
        message = parse(await asyncio.wait_for(peer.ws.recv(), 5))
        if isinstance(message, Heartbeat) and message.ts == ts:
            return


async def test_heartbeats_are_echoed_and_the_relay_beats_too(strict_show: Show) -> None:
    async with connect_peer(strict_show.url, strict_show.token("viewer"), Role.VIEWER) as peer:
        await peer.send(Heartbeat(123.25))
        await _next_echo(peer, 123.25)
        own = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.7:
            await peer.send(Heartbeat(1.0))  # keeps us alive; its echoes are not counted
            message = parse(await asyncio.wait_for(peer.ws.recv(), 1))
            own += isinstance(message, Heartbeat) and message.ts != 1.0
            await asyncio.sleep(0.05)
        assert own >= 2  # every 0.2 s on this backend


async def test_a_silent_client_is_closed_within_the_timeout(strict_show: Show) -> None:
    url = strict_show.url
    async with (
        connect_peer(url, strict_show.token("camera", 1), Role.CAMERA, assign=1) as silent,
        connect_peer(url, strict_show.token("viewer"), Role.VIEWER, beat=0.2) as alive,
    ):
        started = time.monotonic()
        code, reason = await silent.closed(within=5)
        waited = time.monotonic() - started
        assert code == 4408 and "heartbeat" in reason
        # The timeout is 1 s, checked on every heartbeat tick (0.05 s here).
        assert 0.8 < waited < 2.0, waited
        await alive.send(SnapshotRequest(None))
        assert isinstance(await alive.recv(), Snapshot)


async def test_a_client_over_the_rate_limit_is_refused_then_closed(strict_show: Show) -> None:
    async with connect_peer(strict_show.url, strict_show.token("viewer"), Role.VIEWER) as peer:
        for n in range(60):  # a burst of 20 is allowed, then 10/s
            with suppress(ConnectionClosed):
                await peer.send(Heartbeat(float(n)))
        echoes, errors = 0, []
        with suppress(ConnectionClosed):
            async for raw in peer.ws:
                message = parse(raw)
                echoes += isinstance(message, Heartbeat) and message.ts < 60
                if isinstance(message, ErrorMessage):
                    errors.append(message.code)
        assert 20 <= echoes < 25
        assert errors == ["rate_limited"]  # once per run of refusals, not once per message
        assert peer.ws.close_code == 4429


# --- a phone that stops reading ---------------------------------------------------------------


def _masked(text: str) -> bytes:
    payload = text.encode()
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + key + body


@contextmanager
def _stalled_phone(show: Show, token: str) -> Iterator[socket.socket]:
    """A phone on a raw socket with a tiny receive buffer, which says hello and stops reading."""
    host, port = show.server.base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/relay/{show.session_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)  # byte by byte: not one byte of a frame is read by accident
    assert b" 101 " in response.split(b"\r\n", 1)[0]
    sock.sendall(_masked(encode(Hello(Role.CAMERA, PROTOCOL_VERSION, ()))))
    try:
        yield sock
    finally:
        sock.close()


def _close_code(sock: socket.socket) -> int | None:
    """Read what the server sent, up to its close frame; that frame's code."""
    sock.settimeout(10)
    data = b""
    while True:
        while len(data) >= 2:
            size, head = data[1] & 0x7F, 2
            if size == 126:
                size, head = int.from_bytes(data[2:4], "big"), 4
            elif size == 127:
                size, head = int.from_bytes(data[2:10], "big"), 10
            if len(data) < head + size:
                break
            if data[0] & 0x0F == 8:
                return int.from_bytes(data[head : head + 2], "big")
            data = data[head + size :]
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk


def _big_cameras(variant: int) -> CamerasChange:
    # About 10 KB each: a few hundred of them fill any socket buffer.
    cameras = tuple(
        Camera(n, f"Camera {n} {variant:06d} " + "x" * 40, f"source-{n}-" + "y" * 20)
        for n in range(1, 80)
    )
    return CamerasChange(cameras, live_only=False)


async def test_a_client_that_stops_reading_is_dropped_and_the_others_are_not(show: Show) -> None:
    server = show.server
    dropped_before = metric(server, "returnfeed_relay_closed_total", code="4503")
    deltas: list[tuple[int, float]] = []

    async def drain(peer: Peer) -> None:
        with suppress(ConnectionClosed):
            async for raw in peer.ws:
                message = parse(raw)
                if isinstance(message, Delta):
                    deltas.append((message.seq, time.monotonic()))

    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("camera", 1), Role.CAMERA, assign=1) as phone,
    ):
        drains = [asyncio.create_task(drain(peer)) for peer in (director, phone)]
        with _stalled_phone(show, show.token("camera", 2)) as stalled:
            for variant in range(3000):
                await director.send(_big_cameras(variant))
                await asyncio.sleep(0.001)  # the reading clients keep up; the stalled one cannot
                if variant % 25 == 0:
                    gone = await asyncio.to_thread(
                        metric, server, "returnfeed_relay_closed_total", code="4503"
                    )
                    if gone > dropped_before:
                        break
            else:
                raise AssertionError("the stalled phone was never dropped")
            # The reading phone is still there and gets the next change at once.
            sent = time.monotonic()
            await director.send(BusChange(program=("source-1-" + "y" * 20,), preview=()))
            await asyncio.sleep(0.5)
            latest_seq, received = deltas[-1]
            assert received - sent < 0.5
            assert metric(server, "returnfeed_relay_closed_total", code="4503") == gone
            # The stalled phone finds the 4503 close after everything it did not read.
            assert await asyncio.to_thread(_close_code, stalled) == 4503
        for task in drains:
            task.cancel()
        assert latest_seq >= 1
