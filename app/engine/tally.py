"""Tally out to the phones: engine events to whatever relay link is attached.

The relay client keeps the state it was last given and re-sends it after every
reconnect, so this only has to hand it each change, and the whole state on attach.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tally import Camera

from .events import CamerasChanged, Event, TallyChanged
from .state import ShowState


class TallySink(Protocol):
    """The part of app.relay_client.RelayClient that tally needs."""

    def set_bus(self, program: Sequence[str], preview: Sequence[str]) -> None: ...

    def set_cameras(self, cameras: Sequence[Camera], live_only: bool) -> None: ...


class TallyOut:
    def __init__(self) -> None:
        self._sinks: tuple[TallySink, ...] = ()

    def attach(self, sink: TallySink, state: ShowState) -> None:
        self._sinks = (*self._sinks, sink)
        if state.cameras:  # an empty local list must not wipe the session's cameras
            sink.set_cameras(state.cameras, state.live_only)
        bus = state.bus_state()
        sink.set_bus(bus.program, bus.preview)

    def detach(self, sink: TallySink) -> None:
        self._sinks = tuple(s for s in self._sinks if s is not sink)

    def on_event(self, event: Event) -> None:
        if isinstance(event, TallyChanged):
            for sink in self._sinks:
                sink.set_bus(event.bus.program, event.bus.preview)
        elif isinstance(event, CamerasChanged):
            for sink in self._sinks:
                sink.set_cameras(event.cameras, event.live_only)
