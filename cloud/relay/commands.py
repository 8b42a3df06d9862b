"""What reaches a room's inbox: the only way anything outside the room changes it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cloud.relay.broker import Event, Forward, PhoneHere
from cloud.relay.frames import Outgoing
from cloud.relay.peer import Peer
from cloud.relay.state import CameraRow
from tally import Assign, ErrorMessage, Message


@dataclass(frozen=True, slots=True)
class Join:
    peer: Peer
    camera: int | None  # the camera a phone asked for in its hello
    takeover: bool = False  # a director whose hello asked to close the other directors


@dataclass(frozen=True, slots=True)
class Leave:
    peer: Peer


@dataclass(frozen=True, slots=True)
class Inbound:
    """A parsed message its sender's role may send (the connection checked both)."""

    peer: Peer
    message: Message


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer the connection worked out (an error, a heartbeat echo), sent in turn."""

    peer: Peer
    message: Outgoing


@dataclass(frozen=True, slots=True)
class CamerasEdited:
    rows: tuple[CameraRow, ...]


@dataclass(frozen=True, slots=True)
class Assigned:
    director: Peer
    message: Assign
    error: ErrorMessage | None


@dataclass(frozen=True, slots=True)
class Revoke:
    """The REST API took access away; `forward` says from whom, for every process."""

    forward: Forward


@dataclass(frozen=True, slots=True)
class Deliver:
    """Something from outside the room (the gateway's keyframe request) for `forward`'s
    audience, in this process and through the broker in every other."""

    forward: Forward


@dataclass(frozen=True, slots=True)
class Tick:
    pass


@dataclass(frozen=True, slots=True)
class Remote:
    event: Event


@dataclass(frozen=True, slots=True)
class Wake:
    """A background task finished: the room may now be empty and close."""


@dataclass(frozen=True, slots=True)
class Census:
    """Who is connected, for the crew list: the room's phones and other rooms' (answered on
    `reply`; a room that closes first answers with nobody)."""

    reply: asyncio.Future[tuple[PhoneHere, ...]]


@dataclass(frozen=True, slots=True)
class Close:
    pass


Command = (
    Join
    | Leave
    | Inbound
    | Reply
    | CamerasEdited
    | Assigned
    | Revoke
    | Deliver
    | Tick
    | Remote
    | Wake
    | Census
    | Close
)
