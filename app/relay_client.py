"""The director's link to the tally relay (docs/relay.md): one WebSocket, kept up for the show.

No Qt: it runs on the app's asyncio loop. The engine tells it the state it wants the phones to
see (`set_cameras`, `set_bus`) and what to send (`send_message`, `flash`, `assign`); the client
connects, says hello, compares the relay's snapshot with that state and sends what differs,
then sends every change. Any failure (a drop, a refused handshake, a token source that
fails, say a refresh during an outage) is retried with capped, jittered backoff and the same
again, so after a drop or a backend restart the phones always end up with the director's
state; only a refusal for good (4403, 4404, 4409 taken over, a TokenRefused) stops it.
Acks, keyframe requests, `directors` counts and errors come out of `events()`.

Outgoing messages are paced by the relay's own limit (a burst of 20, then 10/s). Bus changes
are coalesced: when the pace holds one back, the newest bus goes out, never a stale one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from app.supervise import Nudge
from tally import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    TAKEOVER_CAPABILITY,
    Ack,
    Assign,
    BusChange,
    BusState,
    Camera,
    CamerasChange,
    Delta,
    Directors,
    ErrorMessage,
    Flash,
    Heartbeat,
    Hello,
    KeyframeRequest,
    Message,
    ProtocolError,
    Role,
    Snapshot,
    SnapshotRequest,
    TextMessage,
    encode,
    parse,
)

log = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("returnfeed.v1")
TAKEN_OVER = 4409  # another director connected with the takeover capability
# The relay refuses these for good: the session is not ours, it has ended, or another
# director took it over (reconnecting would take it back behind their back).
PERMANENT_CLOSE_CODES = frozenset({4403, 4404, TAKEN_OVER})
UNAUTHORIZED = 4401

TokenSource = str | Callable[[], Awaitable[str]]


class TokenRefused(Exception):
    """Raised by a token source when no token can ever come (the login ended): the client
    stops and says why. Any other exception from a token source is retried."""


@dataclass(frozen=True, slots=True)
class Connected:
    seq: int  # the relay's seq when we joined


@dataclass(frozen=True, slots=True)
class Disconnected:
    code: int | None  # the close code, None if the connection failed without one
    reason: str
    retry_in: float | None  # None: the client gave up (see PERMANENT_CLOSE_CODES)


RelayEvent = Ack | KeyframeRequest | ErrorMessage | Directors | Connected | Disconnected


@dataclass(frozen=True, slots=True)
class RelayStats:
    connected: bool
    rtt_ms: float | None  # from the last heartbeat echo
    seq: int | None  # the last tally seq the relay sent us
    connects: int  # successful connects so far
    events_dropped: int  # events nobody read in time


class _Pace:
    """A token bucket that waits: the client never sends over the relay's limit."""

    def __init__(self, burst: int, per_second: float) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._tokens = float(burst)
        self._at = time.monotonic()

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self._tokens) / self._rate)


class RelayClient:
    def __init__(
        self,
        url: str,
        token: TokenSource,
        *,
        heartbeat_s: float = 3.0,
        timeout_s: float = 10.0,
        # Capped at 2 s: phones see the director's state again within about that long
        # of a restarted backend coming up, and one attempt in 2 s costs a dead server nothing.
        backoff_s: tuple[float, float] = (0.25, 2.0),
        burst: int = 20,
        rate: float = 10.0,
        max_events: int = 256,
    ) -> None:
        self._url = url
        self._token = token
        self._heartbeat_s = heartbeat_s
        self._timeout_s = timeout_s
        self._backoff = backoff_s
        self._pace = _Pace(burst, rate)
        # The state the phones should see, and whether the relay still lacks it.
        self._cameras: CamerasChange | None = None
        self._bus: BusChange | None = None
        self._cameras_due = False
        self._bus_due = False
        self._outbox: deque[Message] = deque(maxlen=256)  # messages, flashes, assigns
        self._wake = asyncio.Event()
        self._events: asyncio.Queue[RelayEvent] = asyncio.Queue(max_events)
        self._ids = itertools.count(1)
        self._pings: dict[float, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._rtt_ms: float | None = None
        self._seq: int | None = None
        self._connects = 0
        self._dropped = 0
        self._last_heard = 0.0
        self._takeover = False  # the next hello asks the relay to close the other directors
        self._nudge = Nudge()
        self._hurry = False  # the next reconnect skips its backoff
        self._ws: ClientConnection | None = None

    # --- what the engine calls -------------------------------------------------------------

    def set_cameras(self, cameras: Sequence[Camera], live_only: bool) -> None:
        self._cameras = CamerasChange(tuple(cameras), live_only)
        self._cameras_due = True
        self._wake.set()

    def set_bus(self, program: Sequence[str], preview: Sequence[str]) -> None:
        self._bus = BusChange(tuple(program), tuple(preview))
        self._bus_due = True
        self._wake.set()

    def send_message(self, text: str, camera: int | None = None) -> str:
        """Send text to one camera's phones (or all); its ack comes back with this id."""
        message_id = f"m{next(self._ids)}-{int(time.time())}"
        self._queue(TextMessage(message_id, camera, text))
        return message_id

    def flash(self, camera: int | None = None) -> None:
        self._queue(Flash(camera))

    def assign(self, participant: str, camera: int) -> None:
        self._queue(Assign(participant, camera))

    def events(self) -> AsyncIterator[RelayEvent]:
        return self._iterate_events()

    async def next_event(self) -> RelayEvent:
        return await self._events.get()

    @property
    def stats(self) -> RelayStats:
        return RelayStats(self._connected, self._rtt_ms, self._seq, self._connects, self._dropped)

    def reconnect_now(self) -> None:
        """Drop the connection (it may be dead after a suspend) and connect again at once,
        without waiting out a backoff. The relay only gets what it lacks afterwards."""
        self._hurry = True
        self._nudge.fire()
        ws = self._ws
        if ws is not None:
            ws.transport.abort()

    def take_over(self) -> None:
        """Reconnect as the session's only director: the relay closes the others (4409)."""
        self._takeover = True
        self.reconnect_now()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._connected = False

    # --- the connection --------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            code: int | None = None
            reason = ""
            try:
                token = self._token if isinstance(self._token, str) else await self._token()
                async with connect(
                    self._url,
                    subprotocols=[SUBPROTOCOL],
                    additional_headers={"Authorization": f"Bearer {token}"},
                    compression=None,  # tiny messages; the relay does not compress either
                    ping_interval=None,  # the relay protocol has its own heartbeat
                    open_timeout=self._timeout_s,
                    max_size=4 * MAX_MESSAGE_BYTES,
                ) as ws:
                    self._ws = ws
                    await self._serve(ws)
                    code, reason = ws.close_code, ws.close_reason or ""
                    delay = self._backoff[0]  # it worked: the next drop retries quickly
            except ConnectionClosed as closed:
                if closed.rcvd is not None:
                    code, reason = closed.rcvd.code, closed.rcvd.reason
                if self._connected:
                    delay = self._backoff[0]
            except (InvalidURI, TokenRefused) as exc:
                self._emit(Disconnected(None, str(exc), None))
                return
            except (OSError, InvalidHandshake, TimeoutError, ProtocolError) as exc:
                reason = str(exc) or type(exc).__name__
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed token fetch (5xx, timeout) or a bug: retried
                log.warning("relay link failed: %r", exc)
                reason = str(exc) or type(exc).__name__
            finally:
                self._connected = False
                self._ws = None
            if code in PERMANENT_CLOSE_CODES or (code == UNAUTHORIZED and self._fixed_token):
                log.warning("the relay refused us for good: %s %s", code, reason)
                self._emit(Disconnected(code, reason, None))
                return
            wait = 0.0 if self._hurry else delay * random.uniform(0.8, 1.2)  # jitter
            self._hurry = False
            self._emit(Disconnected(code, reason, round(wait, 3)))
            if await self._nudge.wait(wait):
                delay = self._backoff[0]
            else:
                delay = min(delay * 2, self._backoff[1])

    @property
    def _fixed_token(self) -> bool:
        return isinstance(self._token, str)

    async def _serve(self, ws: ClientConnection) -> None:
        capabilities = ("tally", "messages") + ((TAKEOVER_CAPABILITY,) if self._takeover else ())
        await ws.send(encode(Hello(Role.DIRECTOR, PROTOCOL_VERSION, capabilities)))
        snapshot = await asyncio.wait_for(self._first_snapshot(ws), self._timeout_s)
        self._takeover = False  # the relay has closed the others; a reconnect is a plain one
        # Send only what the relay lacks: an unchanged state would cost every phone a snapshot.
        self._cameras_due = self._cameras is not None and (
            self._cameras.cameras != snapshot.state.cameras
            or self._cameras.live_only != snapshot.state.live_only
        )
        self._bus_due = self._bus is not None and (
            BusState(self._bus.program, self._bus.preview) != snapshot.state.bus
        )
        self._connected = True
        self._connects += 1
        self._last_heard = time.monotonic()
        self._emit(Connected(snapshot.seq))
        tasks = [
            asyncio.create_task(self._read(ws)),
            asyncio.create_task(self._write(ws)),
            asyncio.create_task(self._beat(ws)),
        ]
        self._wake.set()
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise ConnectionClosed and friends
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _first_snapshot(self, ws: ClientConnection) -> Snapshot:
        while True:
            message = self._parse(await ws.recv())
            if isinstance(message, Snapshot):
                self._seq = message.seq
                return message
            if isinstance(message, ErrorMessage | Directors):
                self._emit(message)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            self._last_heard = time.monotonic()
            message = self._parse(raw)
            if isinstance(message, Heartbeat):
                sent = self._pings.pop(message.ts, None)
                if sent is not None:
                    self._rtt_ms = (time.monotonic() - sent) * 1000.0
            elif isinstance(message, Delta):
                if self._seq is not None and message.seq != self._seq + 1:
                    self._queue(SnapshotRequest(self._seq))  # we missed one: ask for all
                self._seq = message.seq
            elif isinstance(message, Snapshot):
                self._seq = message.seq
            elif isinstance(message, Ack | KeyframeRequest | ErrorMessage | Directors):
                self._emit(message)

    async def _write(self, ws: ClientConnection) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._cameras_due or self._bus_due or self._outbox:
                await self._pace.wait()
                message = self._take()
                if message is None:
                    break
                try:
                    await ws.send(encode(message))
                except BaseException:
                    self._put_back(message)
                    raise

    async def _beat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            if time.monotonic() - self._last_heard > self._timeout_s:
                await ws.close(4408, "heard nothing from the relay")
                return
            now = time.monotonic()
            ts = round(now * 1000.0, 3)
            self._pings[ts] = now
            while len(self._pings) > 8:  # echoes that never came
                del self._pings[next(iter(self._pings))]
            await self._pace.wait()
            await ws.send(encode(Heartbeat(ts)))

    # --- small parts -----------------------------------------------------------------------

    def _take(self) -> Message | None:
        """The next message to send; the state first, and always its newest version."""
        if self._cameras_due and self._cameras is not None:
            self._cameras_due = False
            return self._cameras
        if self._bus_due and self._bus is not None:
            self._bus_due = False
            return self._bus
        self._cameras_due = self._bus_due = False
        return self._outbox.popleft() if self._outbox else None

    def _put_back(self, message: Message) -> None:
        if isinstance(message, CamerasChange):
            self._cameras_due = True
        elif isinstance(message, BusChange):
            self._bus_due = True
        else:
            self._outbox.appendleft(message)

    def _queue(self, message: Message) -> None:
        self._outbox.append(message)
        self._wake.set()

    def _parse(self, raw: str | bytes) -> Message | None:
        try:
            return parse(raw)
        except ProtocolError as err:
            log.warning("unreadable message from the relay: %s", err)
            return None

    def _emit(self, event: RelayEvent) -> None:
        if self._events.full():
            self._events.get_nowait()  # the oldest goes: a stale ack matters least
            self._dropped += 1
        self._events.put_nowait(event)

    async def _iterate_events(self) -> AsyncIterator[RelayEvent]:
        while True:
            yield await self._events.get()
