"""Abuse for the backend: bad relay messages from many clients, garbage on the SRT port.

Everything here is generated on the spot with a seeded RNG (so a failure can be replayed)
and sent over real sockets: WebSocket clients on the relay, raw UDP datagrams and real
libsrt callers on the SRT listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from media.send.ts import TS_PACKET, VIDEO_PID
from media.srt import (
    SrtConnection,
    SrtError,
    SrtOptions,
    SrtRejected,
    StreamId,
    format_streamid,
)
from media.srt import (
    connect as srt_connect,
)
from tally import MAX_MESSAGE_BYTES

SUBPROTOCOL = Subprotocol("returnfeed.v1")


# --- the relay ----------------------------------------------------------------------------


def bad_messages(rng: random.Random) -> list[Callable[[], str | bytes]]:
    """Makers of one bad message each: malformed, oversized, wrong-typed, unknown, forbidden."""
    return [
        lambda: "{" * rng.randint(1, 50),  # not JSON
        lambda: rng.choice(["null", "42", "[1, 2]", '"hello"', "true"]),  # JSON, not an object
        lambda: json.dumps({"v": 1, "type": f"no-such-{rng.randint(0, 99)}"}),  # unknown type
        lambda: json.dumps({"v": 1, "type": "heartbeat", "ts": "soon"}),  # a field's type
        lambda: json.dumps({"v": 1, "type": "bus", "program": 7, "preview": None}),
        lambda: json.dumps({"v": 99, "type": "heartbeat", "ts": 1}),  # unknown version
        lambda: json.dumps({"type": "ack"}),  # fields missing
        lambda: json.dumps({"v": 1, "type": "bus", "program": ["x"], "preview": []}),  # forbidden
        lambda: json.dumps({"v": 1, "type": "hello", "role": "director", "protocol": 1}),
        lambda: bytes(rng.randbytes(rng.randint(1, 256))),  # a binary frame
        lambda: '{"v":1,"type":"heartbeat","ts":1}' + " " * (MAX_MESSAGE_BYTES + 10),  # too big
        lambda: "x" * (5 * MAX_MESSAGE_BYTES),  # far too big: cut off by the WebSocket layer
        lambda: json.dumps({"v": 1, "type": "message", "id": "\u0000" * 64, "text": 5}),
    ]


@dataclass
class RelayAbuse:
    sent: int = 0  # bad messages sent
    answered: int = 0  # ... that the relay answered with an `error`
    connects: int = 0
    closes: Counter[str] = field(default_factory=Counter)  # how the relay ended connections


async def flood_relay(
    url: str, tokens: list[str], total: int, clients: int, seed: int = 8
) -> RelayAbuse:
    """`clients` connections at once sending `total` bad messages between them, each waiting
    for the relay's answer before the next (so every message is really read, not left in a
    buffer the relay throws away when it hangs up). A client the relay closes connects
    again with the next token; some tokens are wrong."""
    rng = random.Random(seed)
    makers = bad_messages(rng)
    out = RelayAbuse()

    async def answer(ws: ClientConnection) -> None:
        """Wait for the `error` reply (skipping the relay's heartbeats), at most 2 s."""
        async with asyncio.timeout(2):
            while True:
                raw = await ws.recv()
                if isinstance(raw, str) and '"error"' in raw:
                    out.answered += 1
                    return

    async def one(n: int) -> None:
        while out.sent < total:
            token = tokens[(out.connects + n) % len(tokens)]
            out.connects += 1
            try:
                async with connect(
                    url,
                    subprotocols=[SUBPROTOCOL, Subprotocol(f"bearer.{token}")],
                    compression=None,
                    ping_interval=None,
                    open_timeout=10,
                    max_size=None,
                ) as ws:
                    while out.sent < total:
                        await ws.send(rng.choice(makers)())
                        out.sent += 1
                        with contextlib.suppress(TimeoutError):
                            await answer(ws)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                out.closes[str(code)] += 1
            except (InvalidHandshake, OSError) as exc:
                out.closes[type(exc).__name__] += 1

    await asyncio.gather(*(one(n) for n in range(clients)))
    return out


# --- the SRT port -------------------------------------------------------------------------


def udp_garbage(port: int, datagrams: int, seed: int = 9) -> None:
    """Random datagrams, some shaped like SRT control packets (handshakes, shutdowns)."""
    rng = random.Random(seed)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in range(datagrams):
            size = rng.choice([1, 4, 16, 64, 1316, 1456, 1500])
            body = bytearray(rng.randbytes(size))
            if n % 3 == 0 and size >= 16:
                # control bit + a control type (0 handshake, 5 shutdown, 2 ack ...), random rest
                body[0:2] = struct.pack(">H", 0x8000 | rng.choice([0, 1, 2, 3, 5, 6, 0x7FFF]))
            udp.sendto(bytes(body), ("127.0.0.1", port))
            if n % 50 == 0:
                time.sleep(0.002)  # a burst, not a kernel-buffer overflow that proves nothing


def garbled_ts(rng: random.Random, packets: int) -> bytes:
    """Transport stream that looks right and is not: sync bytes over random PIDs, video PES
    starts with absurd lengths, continuity jumps, truncated packets."""
    out = bytearray()
    for n in range(packets):
        pid = rng.choice([0x0000, 0x1000, VIDEO_PID, 0x0101, rng.randint(0, 0x1FFF)])
        start = rng.random() < 0.3
        header = bytes([0x47, (0x40 if start else 0) | (pid >> 8), pid & 0xFF, 0x10 | (n & 0xF)])
        payload = rng.randbytes(TS_PACKET - 4)
        if start and pid == VIDEO_PID:
            payload = b"\x00\x00\x01\xe0\xff\xff\x84\x80\x05" + rng.randbytes(TS_PACKET - 13)
        packet = header + payload
        if rng.random() < 0.05:
            packet = packet[: rng.randint(1, TS_PACKET - 1)]  # cut short
        out += packet
    return bytes(out)


@dataclass
class SrtAbuse:
    refused: list[int] = field(default_factory=list)  # reject reasons of the bad callers
    garbage_bytes: int = 0


def srt_caller(port: int, passphrase: str | None, streamid: str) -> SrtConnection:
    options = SrtOptions(
        latency_ms=20, passphrase=passphrase, streamid=streamid, conn_timeout_ms=2000
    )
    return srt_connect("127.0.0.1", port, options)


def srt_garbage(
    port: int, session_id: str, publish_token: str, passphrase: str, live: tuple[str, str, str]
) -> SrtAbuse:
    """Callers with the right credentials sending garbage (random bytes, garbled and
    truncated TS), callers with wrong ones, and one that tries to take a live layer."""
    rng = random.Random(10)
    out = SrtAbuse()
    live_session, live_token, live_passphrase = live
    attempts = [
        (live_passphrase, "hello"),  # not a ReturnFeed streamid
        # The garbage session's free layer with a wrong passphrase (a taken one says 1409
        # first: the streamid is checked before the passphrase).
        ("x" * 40, format_streamid(StreamId(session_id, "hi", publish_token))),
        (live_passphrase, format_streamid(StreamId(live_session, "hi", "not" + live_token))),
        (live_passphrase, format_streamid(StreamId(live_session, "hi", live_token))),  # taken
    ]
    for pp, streamid in attempts:
        try:
            srt_caller(port, pp, streamid).close()
        except SrtRejected as refused:
            out.refused.append(int(refused.reason_code))
    for layer in ("hi", "lo"):
        streamid = format_streamid(StreamId(session_id, layer, publish_token))
        conn = srt_caller(port, passphrase, streamid)
        try:
            chunks = [rng.randbytes(1316) for _ in range(30)]
            ts = garbled_ts(rng, 7 * 60)
            chunks += [ts[i : i + 1316] for i in range(0, len(ts), 1316)]
            chunks.append(bytes([0x47]) + rng.randbytes(100))
            for chunk in chunks:
                try:
                    conn.send(chunk)
                except SrtError:
                    break  # the gateway hung up on the garbage: that is allowed
                out.garbage_bytes += len(chunk)
                time.sleep(0.002)
        finally:
            conn.close()
    return out
