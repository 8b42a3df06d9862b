"""Fan-out over Redis pub/sub, so several backend processes serve one session.

Each session has a channel; each event names the process it came from, so a process skips
its own. Seqs come from one atomic counter per session, and the newest state is kept in a
key, so a room that opens later, or a process that was cut off, catches up; so is each room's
list of directors (a hash, one field per room). When Redis is unreachable the relay keeps
serving this process's clients and reconnects in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from cloud.relay.broker import (
    Audience,
    Deliver,
    Forward,
    Joined,
    PhoneHere,
    Presence,
    Published,
    Resync,
    StateChanged,
    Takeover,
)
from cloud.relay.metrics import RelayMetrics
from tally import ProtocolError, Snapshot, derive_lamps, encode, parse

log = logging.getLogger(__name__)

PREFIX = "returnfeed:relay:"
KEY_TTL_S = 24 * 3600  # a session's keys go a day after its last change
CALL_TIMEOUT_S = 0.5  # a Redis call on the tally path waits no longer than this
PAUSE_AFTER_FAILURE_S = 1.0  # then the relay runs local-only for a moment
OUTBOX_SIZE = 10_000

# The seq is above both the caller's and every seq handed out before, even after Redis lost
# its data (the caller's floor then carries on from the database).
_NEXT_SEQ = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if floor > current then current = floor end
current = current + 1
redis.call('SET', KEYS[1], current, 'EX', ARGV[2])
return current
"""
# Keep the newest state only: two processes may publish out of seq order.
_PUBLISH_STATE = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
if tonumber(ARGV[1]) > stored then
  redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'event', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return redis.call('PUBLISH', KEYS[2], ARGV[2])
"""
# A room's directors, or none (its field goes); the hash goes with the session's last room.
_PUBLISH_PRESENCE = """
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return redis.call('PUBLISH', KEYS[2], ARGV[3])
"""


class BadEvent(ValueError):
    """A message on a relay channel that this process cannot read."""


def encode_event(origin: str, event: Published) -> str:
    if isinstance(event, StateChanged):
        state = event.state
        lamps = derive_lamps(state.bus, state.cameras, state.live_only)
        text = encode(Snapshot(event.seq, state, lamps))
        return json.dumps({"o": origin, "k": "state", "snapshot": event.snapshot, "m": text})
    if isinstance(event, Presence):
        return json.dumps(
            {
                "o": origin,
                "k": "presence",
                "room": event.room,
                "logins": [[joined.login, joined.at] for joined in event.directors],
                # For processes from before per-login counting, which read only this.
                "at": [joined.at for joined in event.directors],
                "until": event.until,
                "phones": [list(phone) for phone in event.phones],
            }
        )
    if isinstance(event, Takeover):
        return json.dumps({"o": origin, "k": "takeover", "room": event.room})
    return json.dumps(
        {
            "o": origin,
            "k": "forward",
            "audience": event.audience.value,
            "camera": event.camera,
            "participant": event.participant,
            "m": event.text,
        }
    )


def decode_event(payload: str) -> tuple[str, Published]:
    """The sender and the event; raise `BadEvent` for anything else."""
    try:
        obj = json.loads(payload)
        origin, kind = str(obj["o"]), obj["k"]
        if kind == "state":
            message = parse(obj["m"])
            if isinstance(message, Snapshot):
                return origin, StateChanged(message.seq, message.state, bool(obj["snapshot"]))
        elif kind == "forward":
            parse(obj["m"])
            camera, participant = obj["camera"], obj["participant"]
            if not isinstance(camera, int | None) or not isinstance(participant, str | None):
                raise BadEvent("bad forward target")
            return origin, Forward(Audience(obj["audience"]), obj["m"], camera, participant)
        elif kind == "presence":
            directors, until = _directors(obj), _time(obj["until"])
            return origin, Presence(_room(obj), directors, until, _phones(obj))
        elif kind == "takeover":
            return origin, Takeover(_room(obj))
    except (ValueError, KeyError, TypeError, ProtocolError) as exc:
        raise BadEvent(str(exc)) from None
    raise BadEvent(f"unknown event kind {kind!r}")


def _room(obj: dict[str, Any]) -> str:
    room = obj["room"]
    if not isinstance(room, str) or not room:
        raise BadEvent("bad room id")
    return room


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadEvent(f"bad time {value!r}")
    return float(value)


def _directors(obj: dict[str, Any]) -> tuple[Joined, ...]:
    if "logins" not in obj:  # from a process before per-login counting: logins unknown
        times = obj["at"]
        if not isinstance(times, list):
            raise BadEvent("bad list of times")
        return tuple(Joined(None, _time(at)) for at in times)
    pairs = obj["logins"]
    if not isinstance(pairs, list):
        raise BadEvent("bad list of logins")
    return tuple(_joined(pair) for pair in pairs)


def _joined(pair: object) -> Joined:
    if not isinstance(pair, list) or len(pair) != 2:
        raise BadEvent("bad login entry")
    login, at = pair
    if login is not None and (not isinstance(login, str) or not login):
        raise BadEvent("bad login")
    return Joined(login, _time(at))


def _phones(obj: dict[str, Any]) -> tuple[PhoneHere, ...]:
    entries = obj.get("phones", [])  # none from a process before the crew list
    if not isinstance(entries, list):
        raise BadEvent("bad list of phones")
    return tuple(_phone(entry) for entry in entries)


def _phone(entry: object) -> PhoneHere:
    if not isinstance(entry, list) or len(entry) != 4:
        raise BadEvent("bad phone entry")
    participant, camera, since, ack = entry
    if not isinstance(participant, str) or not participant:
        raise BadEvent("bad phone participant")
    if camera is not None and (not isinstance(camera, int) or isinstance(camera, bool)):
        raise BadEvent("bad phone camera")
    return PhoneHere(participant, camera, _time(since), None if ack is None else _time(ack))


def _channel(session_id: str) -> str:
    return f"{PREFIX}{session_id}"


class RedisBroker:
    def __init__(self, url: str, metrics: RelayMetrics, origin: str | None = None) -> None:
        self._redis: Redis = Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
        )
        self._metrics = metrics
        self.origin = origin or secrets.token_hex(6)
        self._control = f"{PREFIX}_process:{self.origin}"  # keeps the pub/sub link open
        self._subs: dict[str, Deliver] = {}
        self._pubsub: PubSub | None = None
        self._outbox: asyncio.Queue[tuple[str, Published]] = asyncio.Queue(OUTBOX_SIZE)
        self._tasks: list[asyncio.Task[None]] = []
        self._up = False
        self._paused_until = 0.0
        self._confirmed = False  # the control channel was subscribed once already
        self._background: set[asyncio.Task[None]] = set()
        self._next_seq = self._redis.register_script(_NEXT_SEQ)
        self._publish_state = self._redis.register_script(_PUBLISH_STATE)
        self._publish_presence = self._redis.register_script(_PUBLISH_PRESENCE)

    async def start(self) -> None:
        self._set_up(False)
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._publish_loop()),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    async def subscribe(self, session_id: str, deliver: Deliver) -> None:
        self._subs[session_id] = deliver
        if self._pubsub is not None:
            try:
                await self._pubsub.subscribe(_channel(session_id))
            except Exception as exc:  # the listener resubscribes everything when it is back
                self._failed(exc)

    async def unsubscribe(self, session_id: str) -> None:
        self._subs.pop(session_id, None)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(_channel(session_id))

    def publish(self, session_id: str, event: Published) -> None:
        try:
            self._outbox.put_nowait((session_id, event))
        except asyncio.QueueFull:
            log.warning("relay outbox full: an event for %s was not published", session_id)

    async def next_seq(self, session_id: str, floor: int) -> int:
        if not self._usable():
            return floor + 1
        try:
            seq = await asyncio.wait_for(
                self._next_seq(keys=[f"{_channel(session_id)}:seq"], args=[floor, KEY_TTL_S]),
                CALL_TIMEOUT_S,
            )
        except Exception as exc:  # Redis is gone: carry on from our own seq
            self._failed(exc)
            return floor + 1
        return max(int(seq), floor + 1)

    async def latest(self, session_id: str) -> StateChanged | None:
        if not self._usable():
            return None
        try:
            payload = await asyncio.wait_for(
                self._redis.hget(f"{_channel(session_id)}:state", "event"), CALL_TIMEOUT_S
            )
        except Exception as exc:
            self._failed(exc)
            return None
        if payload is None:
            return None
        try:
            _origin, event = decode_event(str(payload))
        except BadEvent as exc:
            log.warning("stored relay state of %s is unreadable: %s", session_id, exc)
            return None
        return event if isinstance(event, StateChanged) else None

    async def presence(self, session_id: str) -> tuple[Presence, ...]:
        if not self._usable():
            return ()
        key = f"{_channel(session_id)}:directors"
        try:
            stored = await asyncio.wait_for(self._redis.hgetall(key), CALL_TIMEOUT_S)
        except Exception as exc:
            self._failed(exc)
            return ()
        now, found, stale = time.time(), [], []
        for room, payload in dict(stored).items():
            try:
                _origin, event = decode_event(str(payload))
            except BadEvent as exc:
                log.warning("stored relay presence of %s is unreadable: %s", session_id, exc)
                continue
            if isinstance(event, Presence) and event.until > now:
                found.append(event)
            else:  # a room whose process died: nobody else removes its field
                stale.append(str(room))
        if stale:
            self._spawn(self._redis.hdel(key, *stale))
        return tuple(found)

    async def ping(self) -> float:
        started = time.perf_counter()
        await self._redis.ping()
        return time.perf_counter() - started

    # --- background ------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            pubsub = self._redis.pubsub()
            try:
                channels = [_channel(session_id) for session_id in self._subs]
                await pubsub.subscribe(self._control, *channels)
                self._pubsub = pubsub
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._pubsub = None
                if self._up:
                    log.warning("Redis is unreachable (%s); relaying locally, reconnecting", exc)
                self._set_up(False)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                # Typed here: redis-py annotates aclose only from 8.x on.
                close: Callable[[], Awaitable[None]] = pubsub.aclose
                with contextlib.suppress(Exception):
                    await close()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), str(message.get("channel"))
        if kind == "subscribe" and channel == self._control:
            # Every confirmation after the first means the link was re-established.
            if self._confirmed:
                self._spawn(self._reconnected())
            else:
                log.info("Redis is reachable; relaying across processes")
                self._set_up(True)
            self._confirmed = True
            return
        if kind != "message" or not channel.startswith(PREFIX):
            return
        deliver = self._subs.get(channel[len(PREFIX) :])
        if deliver is None:
            return
        try:
            origin, event = decode_event(str(message["data"]))
        except BadEvent as exc:
            log.warning("unreadable relay event on %s: %s", channel, exc)
            return
        if origin != self.origin:
            deliver(event)

    async def _reconnected(self) -> None:
        # The idle pooled connections died with the old server: drop them before anything else
        # uses one. (Not the ones in use: the pub/sub link is one of them.)
        with contextlib.suppress(Exception):
            await self._redis.connection_pool.disconnect(inuse_connections=False)
        self._paused_until = 0.0
        self._set_up(True)
        log.info("Redis is reachable again; rooms republish and catch up")
        for resync in list(self._subs.values()):
            resync(Resync())

    async def _publish_loop(self) -> None:
        while True:
            session_id, event = await self._outbox.get()
            if not self._usable():
                continue  # lost while Redis is down; a Resync republishes each room's state
            try:
                payload = encode_event(self.origin, event)
                channel = _channel(session_id)
                if isinstance(event, StateChanged):
                    await self._publish_state(
                        keys=[f"{channel}:state", channel], args=[event.seq, payload, KEY_TTL_S]
                    )
                elif isinstance(event, Presence):
                    ttl = max(1, math.ceil(event.until - time.time()))
                    here = "1" if event.directors or event.phones else "0"
                    keys = [f"{channel}:directors", channel]
                    await self._publish_presence(keys=keys, args=[event.room, here, payload, ttl])
                else:
                    await self._redis.publish(channel, payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as exc:  # best effort: the next call on the tally path notices
                log.warning("background Redis call failed: %s", exc)

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _usable(self) -> bool:
        return self._up and asyncio.get_running_loop().time() >= self._paused_until

    def _failed(self, exc: BaseException) -> None:
        if self._usable():
            log.warning("Redis call failed (%s); relaying locally for a moment", exc)
        self._paused_until = asyncio.get_running_loop().time() + PAUSE_AFTER_FAILURE_S

    def _set_up(self, up: bool) -> None:
        self._up = up
        self._metrics.broker_up.set(1 if up else 0)
