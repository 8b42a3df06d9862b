"""The messages that cross the tally relay; on the wire each is `{"v": 1, "type": TYPE, ...}`."""

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, TypeAlias

from .errors import ProtocolError
from .validate import Length, Range, Unique, Validated, describe
from .values import (
    MAX_SAFE_INT,
    BusState,
    CameraNumber,
    Cameras,
    Lamp,
    Lamps,
    Role,
    Seq,
    Sources,
    TallyState,
)

MessageId = Annotated[str, Length(1, 64)]
# A director whose hello lists this capability takes the session over: the relay closes every
# other director connection of the session (close code 4409, docs/relay.md).
TAKEOVER_CAPABILITY = "takeover"
# The backend's participant ids are 16 characters; its column holds 32.
ParticipantId = Annotated[str, Length(1, 32)]


@dataclass(frozen=True, slots=True)
class Hello(Validated):
    """First message of every client; a phone may ask for a camera."""

    TYPE: ClassVar[str] = "hello"
    role: Role
    protocol: Annotated[int, Range(1, MAX_SAFE_INT)]
    capabilities: Annotated[tuple[Annotated[str, Length(1, 64)], ...], Length(0, 32), Unique()]
    camera: CameraNumber | None = None  # the only field that may be absent on the wire


@dataclass(frozen=True, slots=True)
class Snapshot(Validated):
    """The whole state and every camera's lamp, so phones never derive anything."""

    TYPE: ClassVar[str] = "snapshot"
    seq: Seq
    state: TallyState
    lamps: Lamps


@dataclass(frozen=True, slots=True)
class Delta(Validated):
    """What changed since `seq - 1`; a receiver that missed one asks for a snapshot."""

    TYPE: ClassVar[str] = "delta"
    seq: Annotated[int, Range(1, MAX_SAFE_INT)]
    bus: BusState | None
    lamps: Lamps


@dataclass(frozen=True, slots=True)
class BusChange(Validated):
    """Director → relay: program or preview changed."""

    TYPE: ClassVar[str] = "bus"
    program: Sources
    preview: Sources


@dataclass(frozen=True, slots=True)
class CamerasChange(Validated):
    """Director → relay: the camera mapping or the live-only setting changed."""

    TYPE: ClassVar[str] = "cameras"
    cameras: Cameras
    live_only: bool


@dataclass(frozen=True, slots=True)
class LampMessage(Validated):
    """One camera's lamp, pushed to that camera's phone."""

    TYPE: ClassVar[str] = "lamp"
    camera: CameraNumber
    lamp: Lamp
    seq: Seq


@dataclass(frozen=True, slots=True)
class TextMessage(Validated):
    """Director → camera operators; `camera` None means every camera."""

    TYPE: ClassVar[str] = "message"
    id: MessageId
    camera: CameraNumber | None
    text: Annotated[str, Length(1, 500)]


@dataclass(frozen=True, slots=True)
class Ack(Validated):
    """Camera → director: the operator saw text message `id`."""

    TYPE: ClassVar[str] = "ack"
    id: MessageId
    camera: CameraNumber


@dataclass(frozen=True, slots=True)
class Flash(Validated):
    """Director → camera operators: flash the screen to get attention; None means every camera."""

    TYPE: ClassVar[str] = "flash"
    camera: CameraNumber | None


@dataclass(frozen=True, slots=True)
class Assign(Validated):
    """Director → one phone: from now on it is the tally of `camera`."""

    TYPE: ClassVar[str] = "assign"
    participant: ParticipantId
    camera: CameraNumber


@dataclass(frozen=True, slots=True)
class KeyframeRequest(Validated):
    """Ask the director's encoder for a keyframe on one layer, or on both (None)."""

    TYPE: ClassVar[str] = "keyframe_request"
    layer: Literal["hi", "lo"] | None
    reason: Annotated[str, Length(0, 64)]


@dataclass(frozen=True, slots=True)
class Heartbeat(Validated):
    TYPE: ClassVar[str] = "heartbeat"
    ts: float  # the sender's clock, in ms


@dataclass(frozen=True, slots=True)
class SnapshotRequest(Validated):
    """Ask for a snapshot; `last_seq` is the last seq seen, None if none."""

    TYPE: ClassVar[str] = "snapshot_request"
    last_seq: Seq | None


@dataclass(frozen=True, slots=True)
class Directors(Validated):
    """Relay → director: `count` director connections to this session, the receiver included;
    `since` is when the longest-connected other one connected (unix seconds), None if alone.

    A director told of another can take the session over (`hello` capability "takeover").
    """

    TYPE: ClassVar[str] = "directors"
    count: Annotated[int, Range(1, MAX_SAFE_INT)]
    since: float | None

    def __post_init__(self) -> None:
        Validated.__post_init__(self)  # not super(): slots=True makes a new class
        # Both say whether there is another director; a message where they disagree is a bug.
        if self.count == 1 and self.since is not None:
            raise ProtocolError("since", "expected null when count is 1 (no other director)")
        if self.count > 1 and self.since is None:
            raise ProtocolError("since", f"expected a time when count is {self.count}")
        if self.since is not None and self.since < 0:
            raise ProtocolError("since", f"expected a unix time, got {describe(self.since)}")


@dataclass(frozen=True, slots=True)
class ErrorMessage(Validated):
    """The relay refusing a client's message."""

    TYPE: ClassVar[str] = "error"
    code: Annotated[str, Length(1, 64)]
    message: Annotated[str, Length(0, 1000)]


Message: TypeAlias = (
    Hello
    | Snapshot
    | Delta
    | BusChange
    | CamerasChange
    | LampMessage
    | TextMessage
    | Ack
    | Flash
    | Assign
    | KeyframeRequest
    | Heartbeat
    | SnapshotRequest
    | Directors
    | ErrorMessage
)

_ALL: tuple[type[Message], ...] = (
    Hello,
    Snapshot,
    Delta,
    BusChange,
    CamerasChange,
    LampMessage,
    TextMessage,
    Ack,
    Flash,
    Assign,
    KeyframeRequest,
    Heartbeat,
    SnapshotRequest,
    Directors,
    ErrorMessage,
)
MESSAGE_TYPES: dict[str, type[Message]] = {cls.TYPE: cls for cls in _ALL}
