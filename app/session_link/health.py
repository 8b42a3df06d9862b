"""What is down right now, and since when: the one owner of the switcher's degraded states.

Each link of the show (relay, each SRT layer, the phones poll, invites, the login, a second
director) reports `down` with words and, where there is one, the director's action, or
`up` when it works again. The first `down` fixes `since`; later reports change only the
words, so "since 14:02:11" stays true through every retry. Every change goes out as one
HealthChanged with the whole list, so a view never has to merge anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import events as ev


class HealthBoard:
    def __init__(
        self, emit: Callable[[ev.LinkEvent], None], clock: Callable[[], float] = time.time
    ) -> None:
        self._emit = emit
        self._clock = clock
        self._down: dict[str, ev.Degraded] = {}

    def down(self, link: str, detail: str, action: str = "") -> None:
        before = self._down.get(link)
        since = before.since if before is not None else self._clock()
        now = ev.Degraded(link, detail, since, action)
        if now != before:
            self._down[link] = now
            self._publish()

    def up(self, *links: str) -> None:
        removed = [link for link in links if self._down.pop(link, None) is not None]
        if removed:
            self._publish()

    def up_prefix(self, prefix: str) -> None:
        """Everything under `prefix` is fine (the stream's layers, when it stops)."""
        self.up(*[link for link in self._down if link.startswith(prefix)])

    def clear(self) -> None:
        if self._down:
            self._down.clear()
            self._publish()

    def is_down(self, link: str) -> bool:
        return link in self._down

    @property
    def degraded(self) -> tuple[ev.Degraded, ...]:
        return tuple(self._down.values())

    def _publish(self) -> None:
        self._emit(ev.HealthChanged(self.degraded))
