"""Each session's audience generation, as one process last read it: every audience link
carries the generation it was made in, and revoking them all bumps it (cloud/api/audience.py,
cloud/api/recording_access.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import LiveSession


class AudienceEpochs:
    """Each session's audience generation as this process last read it, for at most
    `ttl_s`: audience requests (a playlist and a segment every ~2 s per player) do not each
    read the database, and a revocation through another process holds here within `ttl_s`."""

    MAX_KEPT = 4096  # unknown ids are remembered too: bounded, whatever a client sends

    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._read: dict[str, tuple[int | None, float]] = {}

    async def get(self, db: AsyncSession, session_id: str) -> int | None:
        now = self._clock()
        hit = self._read.get(session_id)
        if hit is not None and now - hit[1] < self._ttl_s:
            return hit[0]
        session = await db.get(LiveSession, session_id)
        if len(self._read) >= self.MAX_KEPT:
            self._read.clear()
        epoch = None if session is None else session.audience_epoch
        self._read[session_id] = (epoch, now)
        return epoch

    def forget(self, session_id: str) -> None:
        self._read.pop(session_id, None)
