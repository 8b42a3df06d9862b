"""Writes a room's newest state to the database in the background, off the fan-out path."""

from __future__ import annotations

import asyncio
import logging

from cloud.relay.store import TallyStore
from tally import TallyState

log = logging.getLogger(__name__)

RETRY_S = 1.0


class Saver:
    """A burst of changes costs one write: only the newest pending state is written."""

    def __init__(self, store: TallyStore, session_id: str) -> None:
        self._store = store
        self._session_id = session_id
        self._pending: tuple[int, TallyState] | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def save(self, seq: int, state: TallyState) -> None:
        self._pending = (seq, state)
        self._wake.set()

    def close(self) -> None:
        """Write what is pending, then let `run` return."""
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            if self._pending is None:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            pending, self._pending = self._pending, None
            try:
                await self._store.save(self._session_id, *pending)
                failures = 0
            except Exception as exc:  # a database hiccup must not end the room
                failures += 1
                log.warning("cannot store the tally of %s: %s", self._session_id, exc)
                if self._closing and failures > 1:
                    return
                if self._pending is None:
                    self._pending = pending  # nothing newer came: try this one again
                await asyncio.sleep(RETRY_S)
