"""The switcher logic as pure functions: (state, command, pts) -> state.

No clock, no threads, no I/O: the engine supplies `pts` (the first tick a change made now
can affect) and publishes what comes back. `settle` folds a finished transition or fade
into the plain state once no tick still to be composed can show it in progress.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import singledispatch

from media.audio.mixer import ChannelSettings
from media.switcher import Fade, SwitcherState, Transition, TransitionKind
from tally import MAX_CAMERAS, Camera

from . import commands as c
from .errors import InvalidValue, NotNow, UnknownCamera, UnknownChannel, UnknownSource
from .state import SOURCE_KINDS, ManualTransition, ShowState

MAX_GAIN_DB = 12.0
MIN_GAIN_DB = -96.0


def apply(state: ShowState, command: c.Command, pts: int) -> ShowState:
    """The state after `command` at tick `pts`, settled; raises CommandRejected."""
    return settle(_apply(command, state, pts), pts)


def settle(state: ShowState, pts: int) -> ShowState:
    sw = state.switcher
    t = sw.transition
    if t is not None and not isinstance(t, ManualTransition) and pts >= t.end_pts():
        sw = SwitcherState(t.target, _after_take(sw.program, sw.preview, t.target), None, sw.ftb)
        state = replace(state, switcher=sw)
        if state.tbar != state.tbar_rest:  # an auto or cut finished a T-bar mix for it
            rest = 1.0 - state.tbar_rest
            state = replace(state, tbar=rest, tbar_rest=rest)
    f = sw.ftb
    if f is not None and not f.to_black and pts >= f.start_pts + max(1, f.duration) - 1:
        state = replace(state, switcher=replace(sw, ftb=None))
    return state


def next_settle_pts(state: ShowState) -> int | None:
    """The tick at which `settle` will next change something, if any."""
    due: list[int] = []
    t = state.switcher.transition
    if t is not None and not isinstance(t, ManualTransition):
        due.append(t.end_pts())
    f = state.switcher.ftb
    if f is not None and not f.to_black:
        due.append(f.start_pts + max(1, f.duration) - 1)
    return min(due, default=None)


def _after_take(program: str | None, preview: str | None, target: str) -> str | None:
    """Preview after `target` went on air: the old program comes back to preview (a swap)."""
    if target == preview:
        return program if program is not None else preview
    return preview


def _source(state: ShowState, name: str) -> str:
    if state.source(name) is None:
        raise UnknownSource(f"no source named {name!r}")
    return name


def _channel(state: ShowState, name: str) -> ChannelSettings:
    settings = state.audio.get(name)
    if settings is None:
        raise UnknownChannel(f"no audio channel named {name!r}")
    return settings


def _duration(frames: int) -> int:
    if isinstance(frames, bool) or not isinstance(frames, int):
        raise InvalidValue("a duration is a whole number of frames")
    if not 0 <= frames <= c.MAX_DURATION_FRAMES:
        raise InvalidValue(f"a duration must be 0..{c.MAX_DURATION_FRAMES} frames, got {frames}")
    return frames


def _take(
    state: ShowState, target: str, kind: TransitionKind, pts: int, duration: int
) -> ShowState:
    sw = state.switcher
    if kind is TransitionKind.CUT or duration <= 1:
        transition = Transition(TransitionKind.CUT, target, pts)
    else:
        transition = Transition(kind, target, pts, duration)
    if sw.transition is not None and isinstance(sw.transition, ManualTransition):
        # Continue a T-bar mix from where the bar is rather than jumping back to the start.
        done = round(sw.transition.position * duration)
        transition = replace(transition, start_pts=pts + 1 - max(1, done))
    return replace(state, switcher=replace(sw, transition=transition))


@singledispatch
def _apply(command: object, state: ShowState, pts: int) -> ShowState:
    raise InvalidValue(f"not a command: {type(command).__name__}")


@_apply.register
def _(command: c.SetSources, state: ShowState, pts: int) -> ShowState:
    names = [s.name for s in command.sources]
    if len(set(names)) != len(names):
        raise InvalidValue("source names must be unique")
    for info in command.sources:
        if not info.name or info.kind not in SOURCE_KINDS:
            raise InvalidValue(f"bad source {info!r}")
    keep = set(names)
    sw = state.switcher
    t = sw.transition if sw.transition is not None and sw.transition.target in keep else None
    program = sw.program if sw.program in keep else None
    preview = sw.preview if sw.preview in keep else None
    # A new show starts with the first source on air and the second on preview.
    if program is None and t is None and names:
        program = next((n for n in names if n != preview), names[0])
    if preview is None and names:
        preview = next((n for n in names if n != program), names[0])
    cameras = tuple(
        cam if cam.source is None or cam.source in keep else Camera(cam.number, cam.name, None)
        for cam in state.cameras
    )
    switcher = SwitcherState(program, preview, t, sw.ftb)
    return replace(state, sources=command.sources, switcher=switcher, cameras=cameras)


@_apply.register
def _(command: c.SetPreview, state: ShowState, pts: int) -> ShowState:
    source = _source(state, command.source)
    if state.in_transition and source != state.preview:
        raise NotNow("preview cannot change while a transition is running")
    return replace(state, switcher=replace(state.switcher, preview=source))


@_apply.register
def _(command: c.SetProgram, state: ShowState, pts: int) -> ShowState:
    source = _source(state, command.source)
    sw = state.switcher
    # A hot punch overrides any transition running and leaves preview alone. No pts is
    # needed: the new state is swapped in before tick `pts` is composed, so that tick is
    # the first to show it, exactly as a CUT transition starting at `pts` would.
    state = replace(state, tbar=state.tbar_rest)
    return replace(state, switcher=SwitcherState(source, sw.preview, None, sw.ftb))


@_apply.register
def _(command: c.Cut, state: ShowState, pts: int) -> ShowState:
    sw = state.switcher
    target = sw.transition.target if sw.transition is not None else sw.preview
    if target is None:
        raise NotNow("nothing on preview to cut to")
    return _take(state, target, TransitionKind.CUT, pts, 0)


@_apply.register
def _(command: c.Auto, state: ShowState, pts: int) -> ShowState:
    sw = state.switcher
    if sw.transition is not None and not isinstance(sw.transition, ManualTransition):
        raise NotNow("a transition is already running")
    target = sw.transition.target if sw.transition is not None else sw.preview
    if target is None:
        raise NotNow("nothing on preview to take")
    settings = state.transition
    return _take(state, target, settings.kind, pts, settings.duration)


@_apply.register
def _(command: c.FadeToBlack, state: ShowState, pts: int) -> ShowState:
    sw = state.switcher
    duration = max(1, state.ftb_duration)
    level = sw.black_level(pts - 1)  # what the last composed tick showed
    to_black = not state.fade_to_black
    # Start the ramp where the picture is now, so reversing mid-fade never jumps.
    done = level if to_black else 1.0 - level
    start = pts - math.floor(done * duration)
    return replace(state, switcher=replace(sw, ftb=Fade(to_black, start, state.ftb_duration)))


@_apply.register
def _(command: c.SetTransition, state: ShowState, pts: int) -> ShowState:
    if not isinstance(command.kind, TransitionKind):
        raise InvalidValue(f"unknown transition kind {command.kind!r}")
    settings = replace(state.transition, kind=command.kind, duration=_duration(command.duration))
    return replace(state, transition=settings)


@_apply.register
def _(command: c.SetFtbDuration, state: ShowState, pts: int) -> ShowState:
    return replace(state, ftb_duration=_duration(command.duration))


@_apply.register
def _(command: c.TBar, state: ShowState, pts: int) -> ShowState:
    position = command.position
    if isinstance(position, bool) or not isinstance(position, int | float):
        raise InvalidValue("the bar position is a number 0..1")
    if not 0.0 <= position <= 1.0 or math.isnan(position):
        raise InvalidValue(f"the bar position must be 0..1, got {position}")
    sw = state.switcher
    running = sw.transition
    if running is not None and not isinstance(running, ManualTransition):
        raise NotNow("a transition is already running")
    progress = abs(float(position) - state.tbar_rest)
    state = replace(state, tbar=float(position))
    if progress <= 0.0:
        return replace(state, switcher=replace(sw, transition=None))
    target = running.target if running is not None else sw.preview
    if target is None:
        raise NotNow("nothing on preview to mix to")
    if progress >= 1.0:
        rest = round(position)
        sw = SwitcherState(target, _after_take(sw.program, sw.preview, target), None, sw.ftb)
        return replace(state, switcher=sw, tbar=float(rest), tbar_rest=float(rest))
    kind = state.transition.kind
    if kind is TransitionKind.CUT:
        kind = TransitionKind.MIX  # a bar has no meaning for a cut: it mixes
    start = running.start_pts if running is not None else pts
    manual = ManualTransition(kind, target, start, position=progress)
    return replace(state, switcher=replace(sw, transition=manual))


@_apply.register
def _(command: c.SetAudioChannels, state: ShowState, pts: int) -> ShowState:
    if len(set(command.channels)) != len(command.channels):
        raise InvalidValue("audio channel names must be unique")
    follow = dict(command.follow)
    audio = {
        name: state.audio.get(name) or ChannelSettings(follow_video=follow.get(name))
        for name in command.channels
    }
    return replace(state, audio=audio)


@_apply.register
def _(command: c.SetGain, state: ShowState, pts: int) -> ShowState:
    settings = _channel(state, command.channel)
    gain = command.gain_db
    if isinstance(gain, bool) or not isinstance(gain, int | float) or math.isnan(gain):
        raise InvalidValue("gain is a number of dB")
    gain = min(MAX_GAIN_DB, max(MIN_GAIN_DB, float(gain)))
    audio = {**state.audio, command.channel: replace(settings, gain_db=gain)}
    return replace(state, audio=audio)


@_apply.register
def _(command: c.SetMute, state: ShowState, pts: int) -> ShowState:
    settings = _channel(state, command.channel)
    audio = {**state.audio, command.channel: replace(settings, mute=bool(command.mute))}
    return replace(state, audio=audio)


@_apply.register
def _(command: c.SetAudioFollowVideo, state: ShowState, pts: int) -> ShowState:
    settings = _channel(state, command.channel)
    source = None if command.source is None else _source(state, command.source)
    audio = {**state.audio, command.channel: replace(settings, follow_video=source)}
    return replace(state, audio=audio)


@_apply.register
def _(command: c.SetCameras, state: ShowState, pts: int) -> ShowState:
    numbers = [cam.number for cam in command.cameras]
    if len(set(numbers)) != len(numbers) or any(not 1 <= n <= MAX_CAMERAS for n in numbers):
        raise InvalidValue(f"camera numbers must be unique and 1..{MAX_CAMERAS}")
    # A camera mapped to a source this show does not have stays unmapped, not dangling.
    cameras = tuple(
        cam
        if cam.source is None or state.source(cam.source)
        else Camera(cam.number, cam.name, None)
        for cam in sorted(command.cameras, key=lambda cam: cam.number)
    )
    return replace(state, cameras=cameras, live_only=bool(command.live_only))


@_apply.register
def _(command: c.MapCamera, state: ShowState, pts: int) -> ShowState:
    if not any(cam.number == command.number for cam in state.cameras):
        raise UnknownCamera(f"no camera {command.number}")
    source = None if command.source is None else _source(state, command.source)
    cameras = tuple(
        Camera(cam.number, cam.name, source) if cam.number == command.number else cam
        for cam in state.cameras
    )
    return replace(state, cameras=cameras)
