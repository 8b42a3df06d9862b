"""The backend's recordings as the director's app sees them (docs/recording.md): the
session's recording switch, the recording being written, and the ones kept.

Plain data parsed from the backend's JSON; a field an older backend does not send gets the
default that matches how it behaves (a switch that is on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RecordingSwitch:
    on: bool  # the session's switch
    records: bool  # on, and the backend keeps recordings (its --no-recording wins)
    reason: str | None = None  # why it does not record: "switched_off" or "backend_off"
    message: str = ""  # the backend's words for the same


@dataclass(frozen=True, slots=True)
class Recording:
    id: str
    started_at: datetime | None
    state: str  # recording, ended or interrupted (the backend stopped while writing it)
    reason: str | None  # why it ended: publisher_left, stopped, disk_full, ...
    segments: int
    duration_s: float
    bytes: int


@dataclass(frozen=True, slots=True)
class RecordingNow:
    """The recording of the show on air, as the director is told it."""

    # "off", "waiting" (for the picture), "recording", "ended", or "unavailable" (the
    # backend keeps no recordings: --no-recording)
    state: str
    recording_id: str | None = None
    reason: str | None = None  # with "ended": publisher_left, stopped, disk_full, ...


@dataclass(frozen=True, slots=True)
class RecordingList:
    session_id: str
    on: bool  # the session's switch as the backend's recorder knows it
    now: RecordingNow
    recordings: tuple[Recording, ...]  # oldest first


NO_RECORDINGS = "no_recordings"  # the backend's error code when it keeps none


def unavailable(session_id: str, on: bool) -> RecordingList:
    """What a backend that keeps no recordings has: nothing, and it says so."""
    return RecordingList(session_id, on, RecordingNow("unavailable", reason="backend_off"), ())


def _when(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def parse_switch(data: dict[str, Any]) -> RecordingSwitch:
    reason = data.get("reason")
    return RecordingSwitch(
        bool(data["on"]),
        bool(data["records"]),
        str(reason) if reason else None,
        str(data.get("message", "")),
    )


def parse_list(session_id: str, data: dict[str, Any]) -> RecordingList:
    on = bool(data.get("on", True))
    current = data.get("current") or {}
    state, recording_id = str(current.get("state", "")), current.get("recording_id")
    if not on:
        now = RecordingNow("off")
    elif state == "ended":
        now = RecordingNow("ended", recording_id, current.get("reason"))
    elif state == "recording" and recording_id:
        now = RecordingNow("recording", str(recording_id))
    else:  # none yet, or begun and waiting for the first keyframe
        now = RecordingNow("waiting")
    recordings = tuple(
        Recording(
            str(r["id"]),
            _when(r.get("started_at")),
            str(r["state"]),
            r.get("reason"),
            int(r.get("segments", 0)),
            float(r.get("duration_s", 0.0)),
            int(r.get("bytes", 0)),
        )
        for r in data.get("recordings", [])
    )
    return RecordingList(session_id, on, now, recordings)
