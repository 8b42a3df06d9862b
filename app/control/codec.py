"""JSON for the local control API: requests to commands, state and events to JSON.

Everything a client sends is checked here and refused with BadRequest (HTTP 400) and a
message that says what was wrong; nothing a client sends reaches the engine unchecked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from typing import Any

from media.audio.meter import MeterReading
from media.audio.mixer import PROGRAM
from media.audio.source import AudioStatus
from media.switcher import TransitionKind

from ..engine import commands as c
from ..engine.events import Event
from ..engine.state import ShowState

MAX_BODY_BYTES = 16 * 1024

EVENT_TYPES: dict[str, str] = {
    "SourcesChanged": "sources",
    "PreviewChanged": "preview",
    "ProgramChanged": "program",
    "TransitionStarted": "transition_started",
    "TransitionEnded": "transition_ended",
    "TBarMoved": "tbar",
    "TransitionSettingsChanged": "transition_settings",
    "FadeToBlackChanged": "ftb",
    "TallyChanged": "tally",
    "AudioChanged": "audio",
    "CamerasChanged": "cameras",
}


class BadRequest(ValueError):
    """The request body or parameters are not what the endpoint takes."""


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object, or {} for an empty body; BadRequest for anything else."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 128:
        raise BadRequest(f"{key!r} must be a non-empty string (at most 128 characters)")
    return value


def _number(body: Mapping[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"{key!r} must be a number")
    return float(value)


def _frames(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key!r} must be a whole number of frames")
    return value


def resolve_source(state: ShowState, ref: str) -> str:
    """A source by name, or by its 1-based button number when no source has that name."""
    if state.source(ref) is not None:
        return ref
    if ref.isdigit() and 1 <= int(ref) <= len(state.sources):
        return state.sources[int(ref) - 1].name
    return ref  # the engine answers unknown_source


def transition_command(body: Mapping[str, Any], state: ShowState) -> c.SetTransition:
    kind_text = body.get("kind", state.transition.kind.value)
    try:
        kind = TransitionKind(kind_text)
    except ValueError as exc:
        kinds = ", ".join(k.value for k in TransitionKind)
        raise BadRequest(f"'kind' must be one of {kinds}") from exc
    duration = _frames(body, "duration") if "duration" in body else state.transition.duration
    return c.SetTransition(kind, duration)


def tbar_command(body: Mapping[str, Any]) -> c.TBar:
    return c.TBar(_number(body, "position"))


def audio_commands(channel: str, body: Mapping[str, Any], state: ShowState) -> list[c.Command]:
    out: list[c.Command] = []
    if "afv" in body:
        out.append(c.SetAudioFollowVideo(channel, _follow(channel, body["afv"], state)))
    if "gain_db" in body:
        out.append(c.SetGain(channel, _number(body, "gain_db")))
    if "mute" in body:
        if not isinstance(body["mute"], bool):
            raise BadRequest("'mute' must be true or false")
        out.append(c.SetMute(channel, body["mute"]))
    if not out:
        raise BadRequest("give 'gain_db', 'mute' and/or 'afv'")
    return out


def _follow(channel: str, afv: Any, state: ShowState) -> str | None:
    """`afv`: true (the channel's own source), a source (name or number), or false."""
    if afv is False or afv is None:
        return None
    if afv is True:
        if state.source(channel) is None:
            raise BadRequest(
                f"{channel!r} is not a video source's sound: give 'afv' as the source to follow"
            )
        return channel
    if isinstance(afv, str) and afv:
        return resolve_source(state, afv)
    raise BadRequest("'afv' must be true, false, or the source to follow")


def source_from(body: Mapping[str, Any], path_source: str | None) -> str:
    return path_source if path_source else _string(body, "source")


def state_json(state: ShowState) -> dict[str, Any]:
    bus = state.bus_state()
    t = state.switcher.transition
    return {
        "sources": [asdict(s) for s in state.sources],
        "program": state.program,
        "preview": state.preview,
        "transition": {"kind": state.transition.kind.value, "duration": state.transition.duration},
        "in_transition": None if t is None else {"kind": t.kind.value, "target": t.target},
        "ftb": {"active": state.fade_to_black, "duration": state.ftb_duration},
        "tbar": {"position": state.tbar, "rest": state.tbar_rest},
        "tally": {"program": list(bus.program), "preview": list(bus.preview)},
        "audio": {name: asdict(s) for name, s in state.audio.items()},
        "cameras": [asdict(cam) for cam in state.cameras],
        "live_only": state.live_only,
    }


def audio_json(
    state: ShowState, meters: Mapping[str, MeterReading], statuses: Mapping[str, AudioStatus]
) -> dict[str, Any]:
    """Every channel's settings, state and levels, and the program's levels."""

    def levels(name: str) -> dict[str, Any]:
        reading = meters.get(name)
        if reading is None:
            return {"peak_dbfs": None, "loudness_lufs": None}
        return {"peak_dbfs": list(reading.peak_dbfs), "loudness_lufs": reading.loudness_lufs}

    channels = {}
    for name, settings in state.audio.items():
        status = statuses.get(name)
        channels[name] = {
            **asdict(settings),
            "state": status.state.value if status else "starting",
            "error": status.error if status else None,
            "sample_rate": status.sample_rate if status else None,
            "input_channels": status.channels if status else None,
            **levels(name),
        }
    return {"channels": channels, "program": levels(PROGRAM)}


def event_json(event: Event) -> dict[str, Any]:
    name = type(event).__name__
    return {"type": EVENT_TYPES.get(name, name), **_plain(event)}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, TransitionKind):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
