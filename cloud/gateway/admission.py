"""Who may add one more WHEP viewer: a bound per session and per participant token.

Each viewer holds a peer connection with its UDP sockets (3 per address family until ICE
picks a pair) and a send path; a probe opened 150 with one token in a second. Viewers
that never finish ICE count until their connect deadline frees them (viewer.py), so a
burst of offers cannot hold more than the token's share for longer than that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

SESSION_RETRY_AFTER_S = 10  # someone leaves, or the director raises the limit
TOKEN_RETRY_AFTER_S = 5  # an unfinished viewer of this token is freed, or its page leaves


class Counted(Protocol):
    @property
    def session_id(self) -> str: ...

    @property
    def participant_id(self) -> str: ...


class Refused(Exception):
    """No viewer added; `status`, `code`, `reason` and `retry_after_s` make the reply."""

    status = 503
    code = "session_full"
    reason = "session_full"
    retry_after_s = SESSION_RETRY_AFTER_S

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class SessionFull(Refused):
    pass


class TokenLimit(Refused):
    status = 429
    code = "too_many_viewers"
    reason = "token_limit"
    retry_after_s = TOKEN_RETRY_AFTER_S


def check(
    viewers: Iterable[Counted],
    session_id: str,
    participant_id: str,
    per_session: int,
    per_token: int,
) -> None:
    """Raise SessionFull or TokenLimit if one more viewer would pass a limit."""
    in_session = mine = 0
    for viewer in viewers:
        if viewer.session_id == session_id:
            in_session += 1
            mine += viewer.participant_id == participant_id
    if mine >= per_token:
        raise TokenLimit(
            f"this link already watches on {mine} connections, the most one link may; "
            "close one (or wait for an unfinished one to time out)",
            per_token,
        )
    if in_session >= per_session:
        raise SessionFull(
            f"this program has its {per_session} viewers; try again later", per_session
        )
