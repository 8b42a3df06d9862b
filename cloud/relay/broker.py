"""How rooms in different backend processes hear of each other's changes.

A room applies a change to its own clients first, then publishes it; the broker carries it
to the same session's room in every other process. Only the interface and the in-process
broker live here; `redis_broker.py` is the other implementation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from tally import TallyState


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A room's new state and its seq; `snapshot` asks every client for a full snapshot."""

    seq: int
    state: TallyState
    snapshot: bool


class Audience(enum.StrEnum):
    DIRECTORS = "directors"
    PHONES = "phones"  # camera-role clients: those of `camera`, or all when it is None
    PARTICIPANT = "participant"  # one participant's connections, which move to `camera`
    # One participant's connections (every non-director's when None) lose access and close.
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Forward:
    """An already-encoded message for some of the room's clients."""

    audience: Audience
    text: str
    camera: int | None = None
    participant: str | None = None


class Joined(NamedTuple):
    """One director connection: whose login it is, and when it connected (wall time)."""

    # A digest of the login (`roster.login_tag`), never the token family's id; None when a
    # process from before per-login counting reported it: such a connection counts alone.
    login: str | None
    at: float


class PhoneHere(NamedTuple):
    """One participant's relay connection (a camera phone, or a viewer link's tally page),
    for the director's crew list."""

    participant: str
    camera: int | None
    since: float  # wall time it connected
    last_ack: float | None  # wall time of its last acknowledgement, if any


@dataclass(frozen=True, slots=True)
class Presence:
    """Who is connected to one room (one process's): directors, with their logins, and the
    participants' phones.

    Soft state: a room republishes it every heartbeat while it has anyone, and the others
    forget it at `until` (wall time), so a process that died stops counting by itself.
    """

    room: str
    directors: tuple[Joined, ...]
    until: float
    phones: tuple[PhoneHere, ...] = ()


@dataclass(frozen=True, slots=True)
class Takeover:
    """A director of `room` took the session over: every other room closes its directors."""

    room: str


@dataclass(frozen=True, slots=True)
class Resync:
    """The broker was cut off and is back: republish your state and pick up newer ones."""


Published = StateChanged | Forward | Presence | Takeover
Event = Published | Resync
Deliver = Callable[[Event], None]  # called on the event loop; must not block


class Broker(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def subscribe(self, session_id: str, deliver: Deliver) -> None:
        """Send other processes' events for `session_id` to `deliver`, until unsubscribe."""

    async def unsubscribe(self, session_id: str) -> None: ...

    def publish(self, session_id: str, event: Published) -> None:
        """Queue `event` for the other processes, in order; never blocks the caller."""

    async def next_seq(self, session_id: str, floor: int) -> int:
        """A seq above `floor` and above every seq any process has taken for this session."""

    async def latest(self, session_id: str) -> StateChanged | None:
        """The newest state any process published, if the broker keeps one."""

    async def presence(self, session_id: str) -> tuple[Presence, ...]:
        """Every room's last unexpired `Presence` for the session, if the broker keeps them."""

    async def ping(self) -> float:
        """Seconds for a round trip to the shared broker; raises if it cannot be reached."""


class InProcessBroker:
    """One backend process: its rooms already reached every client, so there is no one to tell."""

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def subscribe(self, session_id: str, deliver: Deliver) -> None:
        return None

    async def unsubscribe(self, session_id: str) -> None:
        return None

    def publish(self, session_id: str, event: Published) -> None:
        return None

    async def next_seq(self, session_id: str, floor: int) -> int:
        return floor + 1

    async def latest(self, session_id: str) -> StateChanged | None:
        return None

    async def presence(self, session_id: str) -> tuple[Presence, ...]:
        return ()

    async def ping(self) -> float:
        return 0.0
