"""The relay of one backend process: a room per session that has clients, and the broker."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Literal

from cloud import logs
from cloud.relay.broker import Audience, Forward, PhoneHere
from cloud.relay.codes import ErrorCode
from cloud.relay.commands import CamerasEdited, Census, Deliver, Revoke
from cloud.relay.room import Room, RoomDeps
from cloud.relay.state import CameraRow
from tally import ErrorMessage, KeyframeRequest, encode

log = logging.getLogger(__name__)

CENSUS_TIMEOUT_S = 2.0


class Relay:
    def __init__(self, deps: RoomDeps) -> None:
        self.deps = deps
        self._rooms: dict[str, Room] = {}
        # Each room's run, kept until it has finished writing, so that a new room for the
        # same session loads only after the old one's last state is stored.
        self._runs: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        await self.deps.broker.start()

    def room(self, session_id: str) -> Room:
        """The session's room, created (and started) if this process has none."""
        room = self._rooms.get(session_id)
        if room is None:
            room = Room(session_id, self.deps, self._forget)
            self._rooms[session_id] = room
            # The room outlives the connection that opened it: its lines carry the id of
            # the request each command came from (Room.submit), not that connection's.
            run = asyncio.create_task(
                self._run(room, self._runs.get(session_id)), context=logs.detached()
            )
            self._runs[session_id] = run
            run.add_done_callback(lambda done: self._ran(session_id, done))
        return room

    def cameras_edited(self, session_id: str, rows: Iterable[CameraRow]) -> None:
        """The REST API changed the session's cameras; the room relays the new list."""
        self.room(session_id).submit(CamerasEdited(tuple(rows)))

    def revoke(self, session_id: str, participants: Iterable[str] | None, reason: str) -> None:
        """Close the connections of `participants` (every non-director's when None) everywhere.

        Rights are checked at connect; this is how a revoked invite, a removed participant or
        an ended session also reaches the phones and viewers that are already connected.
        """
        text = encode(ErrorMessage(ErrorCode.REVOKED.value, reason))
        room = self.room(session_id)
        for participant in [None] if participants is None else participants:
            room.submit(Revoke(Forward(Audience.REVOKED, text, participant=participant)))

    async def crew(self, session_id: str) -> tuple[PhoneHere, ...]:
        """The session's phones connected to any process's relay now (the room's answer, or
        the broker's stored presence when no client of the session is here)."""
        room = self._rooms.get(session_id)
        if room is None:
            now = time.time()
            stored = await self.deps.broker.presence(session_id)
            return tuple(phone for p in stored if p.until > now for phone in p.phones)
        reply: asyncio.Future[tuple[PhoneHere, ...]] = asyncio.get_running_loop().create_future()
        room.submit(Census(reply))
        try:
            return await asyncio.wait_for(reply, CENSUS_TIMEOUT_S)
        except TimeoutError:  # a room busy with a thousand phones: the list waits a poll
            log.warning("relay room %s did not answer who is connected in time", session_id)
            return ()

    def request_keyframe(self, session_id: str, layer: str | None, reason: str) -> None:
        """Ask the session's director(s) for an IDR on `layer` (both when None): a viewer
        joined, switched layers or lost a picture. Reaches directors on every process."""
        which: Literal["hi", "lo"] | None = (
            "hi" if layer == "hi" else "lo" if layer == "lo" else None
        )
        message = KeyframeRequest(layer=which, reason=reason[:64])
        forward = Forward(Audience.DIRECTORS, encode(message))
        self.room(session_id).submit(Deliver(forward))

    async def close(self) -> None:
        for room in list(self._rooms.values()):
            room.close()
        runs = list(self._runs.values())
        if runs:
            await asyncio.wait(runs, timeout=5)
        await self.deps.broker.close()

    async def _run(self, room: Room, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await room.run()

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.session_id) is room:
            del self._rooms[room.session_id]

    def _ran(self, session_id: str, run: asyncio.Task[None]) -> None:
        if self._runs.get(session_id) is run:
            del self._runs[session_id]
        if not run.cancelled() and run.exception() is not None:
            log.error("relay room %s ended with an error: %r", session_id, run.exception())
