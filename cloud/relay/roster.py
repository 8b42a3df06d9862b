"""Who directs a session: this room's director connections and those other rooms report.

Only the room touches its roster. Each local director is told the count of director
connections (itself included) and since when the longest-connected other one is there; the
roster remembers what each was last told, so a director hears again only when that changes.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cloud.relay.broker import Presence
from tally import Directors

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class _Reported:
    directors: tuple[float, ...]
    until: float


class Roster(Generic[K]):
    def __init__(self, room: str) -> None:
        self.room = room
        self._local: dict[K, float] = {}  # a director connection -> when it joined (wall time)
        self._remote: dict[str, _Reported] = {}  # another room -> its last unexpired Presence
        self._told: dict[K, Directors] = {}

    def join(self, director: K, at: float) -> None:
        self._local[director] = at

    def leave(self, director: K) -> bool:
        """Forget `director`; whether it was one of ours."""
        self._told.pop(director, None)
        return self._local.pop(director, None) is not None

    @property
    def local(self) -> tuple[float, ...]:
        return tuple(sorted(self._local.values()))

    def presence(self, until: float) -> Presence:
        """What other rooms should know of ours, valid until `until`."""
        return Presence(self.room, self.local, until)

    def heard(self, presence: Presence, now: float) -> None:
        if presence.room == self.room:
            return  # our own, read back from the broker's store
        if presence.directors and presence.until > now:
            self._remote[presence.room] = _Reported(presence.directors, presence.until)
        else:
            self._remote.pop(presence.room, None)

    def forget_remote(self, keep: str | None = None) -> None:
        """After a takeover: the other rooms' directors are being closed."""
        self._remote = {room: seen for room, seen in self._remote.items() if room == keep}

    def expire(self, now: float) -> None:
        """Rooms that stopped reporting (their process died, or the broker is away)."""
        self._remote = {room: seen for room, seen in self._remote.items() if seen.until > now}

    def view(self, director: K) -> Directors:
        others = [at for key, at in self._local.items() if key != director]
        others += [at for seen in self._remote.values() for at in seen.directors]
        return Directors(1 + len(others), min(others) if others else None)

    def untold(self) -> list[tuple[K, Directors]]:
        """Each local director whose view changed since it was last told, and the new view.

        The caller sends them: once returned, a view counts as told.
        """
        due = []
        for director in self._local:
            view = self.view(director)
            if self._told.get(director) != view:
                self._told[director] = view
                due.append((director, view))
        return due
