"""Who directs a session: this room's director connections and those other rooms report.

Only the room touches its roster. Directors are counted per login (one sign-in, whose token
refreshes keep it), not per connection: a director's own old connection, left in a process
that died or on a half-open socket, is the same login and never "another director", while a
second laptop, signed in on its own, is. Each local director is told how many logins direct
(its own included) and since when the longest-connected other login is there; the roster
remembers what each was last told, so a director hears again only when that changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from cloud.relay.broker import Joined, Presence
from tally import Directors

K = TypeVar("K", bound=Hashable)


def login_tag(session_id: str, family_id: str) -> str:
    """What the roster keeps and publishes for a login instead of its token family's id.

    The family id is random, so a digest of it is as good a key and tells Redis nothing; with
    the session in it, one login's tags in two sessions do not match either.
    """
    return hashlib.sha256(f"{session_id}\n{family_id}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _Reported:
    directors: tuple[Joined, ...]
    until: float


class Roster(Generic[K]):
    def __init__(self, room: str) -> None:
        self.room = room
        self._local: dict[K, Joined] = {}  # a director connection -> its login, when it joined
        self._remote: dict[str, _Reported] = {}  # another room -> its last unexpired Presence
        self._told: dict[K, Directors] = {}

    def join(self, director: K, login: str, at: float) -> None:
        self._local[director] = Joined(login, at)

    def leave(self, director: K) -> bool:
        """Forget `director`; whether it was one of ours."""
        self._told.pop(director, None)
        return self._local.pop(director, None) is not None

    @property
    def local(self) -> tuple[Joined, ...]:
        return tuple(sorted(self._local.values(), key=lambda joined: joined.at))

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
        """The other logins: how many, and the earliest time any of their connections joined."""
        mine = self._local.get(director)
        own = mine.login if mine is not None else None
        first: dict[str, float] = {}  # another login -> its longest-connected connection
        unknown: list[float] = []  # connections of unknown login count one each
        for login, at in self._everyone():
            if login is None:
                unknown.append(at)
            elif login != own:
                first[login] = min(at, first.get(login, at))
        others = [*first.values(), *unknown]
        return Directors(1 + len(others), min(others) if others else None)

    def _everyone(self) -> Iterator[Joined]:
        yield from self._local.values()
        for seen in self._remote.values():
            yield from seen.directors

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
