"""Session notices between processes: "ended", "rotated" and "recording" (its switch was set),
over one Redis pub/sub channel.

The process whose API ends a session, rotates its SRT credentials or sets its recording
switch acts on its own ingest, recorder, viewers and edges at once; every other process
would only find out at its next credentials refresh from the database (every 30 s), and
meanwhile the owner kept the director publishing (and recording, or not) and its viewers
(and the edges') watching. So the acting process also
publishes a notice on `CHANNEL`, which every process of the deployment listens to.

A notice carries only what happened and to which session: the hearer reads the session from
the database before it acts (`Gateway.heard`), so the channel is a hint, never an authority,
and a notice for a session unknown there or not in that state changes nothing. Delivery is
best effort: with Redis away a notice is lost (said in the log), and the 30 s refresh is
the backstop, as it was before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from redis.asyncio import Redis

log = logging.getLogger(__name__)

CHANNEL = "returnfeed:scale:sessions"
CALL_TIMEOUT_S = 1.0
MAX_NOTICE = 512  # bytes: a notice is ~80; anything longer is not ours
Kind = Literal["ended", "rotated", "recording"]
KINDS: tuple[str, ...] = get_args(Kind)
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class BadNotice(ValueError):
    """A message on the notice channel that this process cannot read."""


@dataclass(frozen=True, slots=True)
class Notice:
    kind: Kind
    session_id: str
    origin: str  # the process id of the one that acted


def encode_notice(notice: Notice) -> str:
    return json.dumps(
        {"o": notice.origin, "k": notice.kind, "s": notice.session_id}, separators=(",", ":")
    )


def decode_notice(payload: object) -> Notice:
    """The notice in `payload` (bytes, as Redis hands them); raise `BadNotice` for anything
    else."""
    if not isinstance(payload, bytes) or len(payload) > MAX_NOTICE:
        raise BadNotice("not a short message")
    try:
        obj = json.loads(payload.decode())
    except ValueError as exc:  # UnicodeDecodeError is one
        raise BadNotice(f"not JSON text: {exc}") from None
    if not isinstance(obj, dict):
        raise BadNotice("not an object")
    origin, kind, session_id = obj.get("o"), obj.get("k"), obj.get("s")
    if not isinstance(origin, str) or not origin:
        raise BadNotice("no sender")
    if kind not in KINDS:
        raise BadNotice(f"unknown kind {kind!r}")
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise BadNotice("bad session id")
    return Notice(kind, session_id, origin)


Hear = Callable[[Notice], Awaitable[None]]


class Notices:
    """Tells the other processes (`tell`) and hears them (`hear`, on the loop, one task
    per notice so a slow database read holds up no other)."""

    def __init__(self, url: str, origin: str, hear: Hear) -> None:
        # Bytes, not decoded text: a message that is not UTF-8 would break the
        # subscription's reader itself, not just be one bad notice.
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.origin = origin
        self._hear = hear
        self._task: asyncio.Task[None] | None = None
        self._hearing: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()  # subscribed now (for tests and the health report)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._hearing):
            task.cancel()
        await self._redis.aclose()

    async def tell(self, kind: Kind, session_id: str) -> bool:
        """Publish a notice; False (and a log line) when Redis did not take it."""
        payload = encode_notice(Notice(kind, session_id, self.origin))
        try:
            await asyncio.wait_for(self._redis.publish(CHANNEL, payload), CALL_TIMEOUT_S)
        except Exception as exc:  # refused, reset, timed out
            log.warning(
                "session %s %s: other processes not told (Redis: %s: %s); they find out "
                "at their next credentials refresh (30 s)",
                session_id,
                kind,
                type(exc).__name__,
                exc,
            )
            return False
        return True

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.listening.is_set():
                    log.warning("session notices: Redis unreachable (%s); reconnecting", exc)
                self.listening.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                close: Callable[[], Awaitable[None]] = pubsub.aclose
                with contextlib.suppress(Exception):
                    await close()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            self.listening.set()
            log.info("session notices: listening on %s", CHANNEL)
            return
        if kind != "message":
            return
        try:
            notice = decode_notice(message.get("data"))
        except BadNotice as exc:
            log.warning("session notices: unreadable message ignored: %s", exc)
            return
        if notice.origin == self.origin:
            return  # ours: acted on already
        task = asyncio.create_task(self._heard(notice))
        self._hearing.add(task)
        task.add_done_callback(self._hearing.discard)

    async def _heard(self, notice: Notice) -> None:
        try:
            await self._hear(notice)
        except Exception:  # the database away, say: the 30 s refresh catches up
            log.exception("session notices: acting on %s %s failed", notice.session_id, notice.kind)
