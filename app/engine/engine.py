"""The engine: the one owner of the show state. Commands in, events out.

It is not thread-safe on purpose: one thread (the runtime's loop) calls `execute` and
`settle`. Other threads only read: `switcher_state` for the program clock and `state`
for anyone who wants a look; both are one attribute read of an immutable value that is
replaced whole, so a reader never sees half a change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from media.switcher import SwitcherState

from .commands import Command
from .events import Event, diff
from .reduce import apply, next_settle_pts, settle
from .state import ShowState
from .timebase import Timebase

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]


class Engine:
    def __init__(self, timebase: Timebase, state: ShowState | None = None) -> None:
        self.timebase = timebase
        self._state = state or ShowState()
        self._switcher = self._state.switcher
        self._subscribers: tuple[Subscriber, ...] = ()

    @property
    def state(self) -> ShowState:
        return self._state

    def switcher_state(self) -> SwitcherState:
        """The program clock's provider: called once per tick from the clock thread."""
        return self._switcher

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with every event from now on; returns the way to stop."""
        self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    def execute(self, command: Command) -> tuple[Event, ...]:
        """Apply `command` now; the events it caused. Raises CommandRejected, changing nothing."""
        pts = self.timebase.now_pts()
        return self._publish(apply(self._state, command, pts))

    def settle(self) -> tuple[Event, ...]:
        """Fold a finished transition or fade into the state; call at `next_settle_pts`."""
        return self._publish(settle(self._state, self.timebase.now_pts()))

    def next_settle_pts(self) -> int | None:
        return next_settle_pts(self._state)

    def _publish(self, new: ShowState) -> tuple[Event, ...]:
        old, self._state = self._state, new
        self._switcher = new.switcher  # the clock's next tick sees it
        events = diff(old, new)
        for event in events:
            for subscriber in self._subscribers:
                try:
                    subscriber(event)
                except Exception:  # one broken listener must not stop the show or the others
                    log.exception("engine subscriber %r failed on %s", subscriber, event)
        return events
