"""One accepted client: who it is, its bounded send queue, and the first reason it ends."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from cloud.relay.codes import CloseCode, Ending
from cloud.relay.frames import Outgoing
from cloud.relay.outlet import Outlet, QueueFull
from tally import Role


@dataclass(frozen=True, slots=True)
class Identity:
    """What the token proved at connect."""

    role: Role
    session_id: str
    participant_id: str | None  # None for the director, who connects with an account
    camera: int | None  # the participant's camera when it connected
    bound_camera: int | None  # the camera its invite link is bound to, if any
    # A director's login: the token family of its sign-in, which refreshes keep. Kept out of
    # repr so it never reaches a log; the roster counts directors by a digest of it.
    login: str | None = field(default=None, repr=False)


class Peer:
    """The room offers encoded messages; the outlet sends them at once or queues them.

    The queue is bounded so that one slow phone costs memory for 64 messages at most, and a
    full queue ends the peer (4503) instead of making the broadcaster wait.
    """

    __slots__ = (
        "_ended",
        "camera",
        "identity",
        "joined_at",
        "last_ack",
        "last_heard",
        "outlet",
        "slot",
    )

    def __init__(self, identity: Identity, outlet: Outlet, now: float) -> None:
        self.identity = identity
        self.camera = identity.camera  # changed only by the room (hello, assign)
        self.outlet = outlet
        self.last_heard = now  # the reader stamps it; the room's ticker reads it
        self.joined_at = time.time()  # wall time, for the director's crew list
        self.last_ack: float | None = None  # wall time; set by the room on each ack
        self.slot = 0  # which heartbeat tick this peer is in, set by the room
        self._ended: asyncio.Future[Ending] = asyncio.get_running_loop().create_future()

    @property
    def role(self) -> Role:
        return self.identity.role

    def offer(self, message: Outgoing) -> bool:
        """Send or queue `message`; False if the queue is full (the caller ends the peer)."""
        try:
            self.outlet.put(message)
        except QueueFull:
            return False
        return True

    def end(self, code: CloseCode | None, reason: str = "") -> None:
        """Ask the connection to close; the first reason wins."""
        if not self._ended.done():
            self._ended.set_result(Ending(code, reason))

    @property
    def ending(self) -> asyncio.Future[Ending]:
        return self._ended

    @property
    def has_ended(self) -> bool:
        return self._ended.done()
