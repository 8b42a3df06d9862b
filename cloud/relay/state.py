"""A room's tally as an immutable value, and what to send when it changes. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cloud.relay.frames import Outgoing
from tally import (
    BusState,
    Camera,
    CameraLamp,
    Delta,
    Snapshot,
    TallyState,
    changed_lamps,
    derive_lamps,
    encode,
)

EMPTY_BUS = BusState(program=(), preview=())
_MAX_SOURCE_ID = 128  # tally's SourceId limit; a longer NDI name cannot be a tally source


@dataclass(frozen=True, slots=True)
class Tally:
    """One numbered state of a room, with its lamps and its snapshot text worked out once."""

    seq: int
    state: TallyState
    lamps: tuple[CameraLamp, ...]
    snapshot: Outgoing  # the `snapshot` message: every joining client gets this same one

    @classmethod
    def of(cls, seq: int, state: TallyState) -> Tally:
        """Raise `tally.ProtocolError` if the snapshot would be over the message size limit."""
        lamps = derive_lamps(state.bus, state.cameras, state.live_only)
        return cls(seq, state, lamps, Outgoing(encode(Snapshot(seq, state, lamps))))

    @property
    def camera_numbers(self) -> frozenset[int]:
        return frozenset(camera.number for camera in self.state.cameras)


def update(old: Tally, new: Tally, snapshot: bool) -> Outgoing:
    """The one message every client gets for `old` → `new`: a delta when one can say it.

    A delta cannot remove a camera or skip a number, so those become a snapshot.
    """
    if snapshot or new.seq != old.seq + 1 or new.camera_numbers != old.camera_numbers:
        return new.snapshot
    bus = new.state.bus if new.state.bus != old.state.bus else None
    return Outgoing(encode(Delta(new.seq, bus, changed_lamps(old.lamps, new.lamps))))


@dataclass(frozen=True, slots=True)
class CameraRow:
    """A camera as the REST API stores it."""

    number: int
    name: str
    ndi_source: str | None


def initial_state(rows: Iterable[CameraRow]) -> TallyState:
    """A room nobody has switched yet: the session's cameras, mapped to their NDI names."""
    cameras = tuple(Camera(row.number, row.name, _source(row.ndi_source)) for row in rows)
    return TallyState(EMPTY_BUS, cameras, live_only=False)


def merge_cameras(current: TallyState, rows: Iterable[CameraRow]) -> TallyState:
    """The REST API decides which cameras exist and their names; a director's mapping stays.

    A camera the director mapped keeps its source; a new one starts from its NDI name.
    """
    mapped = {camera.number: camera.source for camera in current.cameras}
    cameras = tuple(
        Camera(row.number, row.name, mapped[row.number] if row.number in mapped else _source(row))
        for row in sorted(rows, key=lambda row: row.number)
    )
    return TallyState(current.bus, cameras, current.live_only)


def _source(row: CameraRow | str | None) -> str | None:
    name = row.ndi_source if isinstance(row, CameraRow) else row
    if not name or len(name) > _MAX_SOURCE_ID:
        return None
    return name
