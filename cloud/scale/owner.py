"""Who owns each session's SRT ingest: one process, under a lease in Redis it renews.

The key `returnfeed:scale:owner:<session>` holds `{"process": ID, "srt": "HOST:PORT"}` with a
lease (SET NX PX). The owner renews each of its leases every third of the lease with a
compare-and-renew script, so a process that stalled or lost Redis long enough to lose a
lease cannot renew one that another process has taken since; it deletes them the same way
when a session ends. A process that dies (kill -9) renews nothing: its leases expire and the
next claim takes the session.

`owns` is read by the ingest's accept filter on libsrt's thread: it only looks at a set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

PREFIX = "returnfeed:scale:owner:"
LEASE_S = 6.0  # a dead owner's sessions wait this long at most before another takes them
CALL_TIMEOUT_S = 1.0

# Renew (or, with a lease of 0, drop) only while the key still names us. A key that is gone
# (Redis restarted empty, or we stalled past the lease and nobody took it) is taken again:
# the director is still publishing here.
_RENEW = """
local held = redis.call('GET', KEYS[1])
if tonumber(ARGV[2]) == 0 then
  if held == ARGV[1] then return redis.call('DEL', KEYS[1]) end
  return 0
end
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if held ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


# Compare-and-set: replace the holder we read, and nobody who took the key since.
_REPLACE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1
"""


class OwnershipUnavailable(Exception):
    """Redis did not answer: nobody can say who owns the session right now."""


@dataclass(frozen=True, slots=True)
class Owner:
    process: str
    srt: str  # "HOST:PORT" its SRT ingest is reached at

    @property
    def srt_address(self) -> tuple[str, int]:
        host, _, port = self.srt.rpartition(":")
        return host.strip("[]"), int(port)

    def encode(self) -> str:
        return json.dumps({"process": self.process, "srt": self.srt}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Owner:
        data = json.loads(text)
        return cls(str(data["process"]), str(data["srt"]))


class Ownership:
    def __init__(
        self,
        url: str,
        me: Owner,
        lease_s: float = LEASE_S,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self._redis: Redis = Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, socket_timeout=2
        )
        self.me = me
        self._lease_ms = int(lease_s * 1000)
        self._renew = self._redis.register_script(_RENEW)
        self._replace = self._redis.register_script(_REPLACE)
        self._owned: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.renewed_at: float | None = None  # monotonic time of the last renewal round
        self.error: str | None = None  # why the last renewal round failed
        # Told of a session another process has taken: its publishers here must go, so the
        # director's app reconnects, is refused, and reads where the owner is now.
        self.on_lost = on_lost

    @property
    def lease_s(self) -> float:
        return self._lease_ms / 1000

    def set_srt(self, srt: str) -> None:
        """The SRT address once the ingest is bound (a configured port 0 is known then)."""
        self.me = Owner(self.me.process, srt)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._renew_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for session_id in list(self._owned):
            await self.release(session_id)
        await self._redis.aclose()

    def owns(self, session_id: str) -> bool:
        return session_id in self._owned

    @property
    def owned(self) -> frozenset[str]:
        return frozenset(self._owned)

    async def owner(self, session_id: str) -> Owner | None:
        """Who holds the session's lease now (None: nobody)."""
        text = await self._call(self._redis.get(PREFIX + session_id))
        return Owner.decode(text) if text else None

    async def claim(self, session_id: str) -> Owner:
        """The session's owner, this process if nobody held it."""
        key, mine = PREFIX + session_id, self.me.encode()
        taken = await self._call(self._redis.set(key, mine, nx=True, px=self._lease_ms))
        if not taken:
            text = await self._call(self._redis.get(key))
            if not text:  # expired between the two calls: try once more
                return await self.claim(session_id)
            holder = Owner.decode(text)
            if holder.srt != self.me.srt:
                return holder
            # Our own address: an earlier run of this process (no two live processes listen
            # on one address), killed before its lease ran out. Ours now, without waiting.
            taken = holder.process == self.me.process or await self._call(
                self._replace(keys=[key], args=[text, mine, self._lease_ms])
            )
            if not taken:
                return await self.claim(session_id)  # changed meanwhile: read it again
        self._owned.add(session_id)
        log.info("SRT ingest of session %s is ours (%s)", session_id, self.me.srt)
        return self.me

    async def release(self, session_id: str) -> None:
        """The session ended: drop our lease (only if it is still ours)."""
        self._owned.discard(session_id)
        with contextlib.suppress(OwnershipUnavailable):  # else it expires by itself
            await self._call(self._renew(keys=[PREFIX + session_id], args=[self.me.encode(), 0]))

    async def renew_all(self) -> None:
        """One renewal round; a lease that is no longer ours is forgotten."""
        mine = self.me.encode()
        for session_id in list(self._owned):
            kept = await self._call(
                self._renew(keys=[PREFIX + session_id], args=[mine, self._lease_ms])
            )
            if not kept:
                self._owned.discard(session_id)
                log.warning("lost the SRT ingest of session %s to another process", session_id)
                if self.on_lost is not None:
                    self.on_lost(session_id)

    async def _renew_forever(self) -> None:
        while True:
            try:
                await self.renew_all()
            except OwnershipUnavailable as exc:
                self.error = str(exc)
                log.warning("SRT ingest leases not renewed: %s", exc)
            else:
                self.error = None
                self.renewed_at = time.monotonic()
            await asyncio.sleep(self.lease_s / 3)

    async def _call(self, call: Awaitable[Any]) -> Any:
        try:
            return await asyncio.wait_for(call, CALL_TIMEOUT_S)
        except Exception as exc:  # refused, reset, timed out
            raise OwnershipUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
