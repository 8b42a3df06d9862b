"""Audience links to a session's HLS (docs/recording.md, "HLS for audiences"): for
audiences larger than WebRTC carries, a link anyone may play until it expires, and revoke
all of them at once.

The backend signs each link; the app only asks for one and keeps the last one made per
session, so the window (and the control API) can show it again with its expiry. Revoking
stops every link made so far, this one and any handed out before: one link cannot be
revoked alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from . import events as ev
from .cloud_api import AudienceLink
from .login import Login
from .recordings import RecordingRefused

log = logging.getLogger(__name__)

HOUR_S = 3600
DAY_S = 24 * HOUR_S
VALIDITIES = (HOUR_S, DAY_S, 7 * DAY_S)  # what the window offers
DEFAULT_TTL_S = DAY_S
MIN_TTL_S, MAX_TTL_S = 60, 30 * DAY_S  # the backend's own bounds (cloud/api/audience.py)


def checked_ttl(ttl_s: object) -> int:
    """A validity in whole seconds within the backend's bounds, or a clear refusal here
    (the backend's own 422 names a field the director never sees)."""
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise RecordingRefused(
            400,
            "bad_request",
            f"an audience link is valid from {MIN_TTL_S} s to {MAX_TTL_S // DAY_S} days",
        )
    return ttl_s


class Audience:
    def __init__(
        self, login: Callable[[], Login | None], emit: Callable[[ev.LinkEvent], None]
    ) -> None:
        self._login = login
        self._emit = emit
        self._last: dict[str, AudienceLink] = {}  # session id -> the last link made

    def last(self, session_id: str) -> AudienceLink | None:
        """The last link made for the session here, until revoked (it may have expired)."""
        return self._last.get(session_id)

    async def make(self, session_id: str, ttl_s: int = DEFAULT_TTL_S) -> AudienceLink:
        login = self._need_login()
        ttl = checked_ttl(ttl_s)
        link = await login.api.make_audience_link(await login.access(), session_id, ttl)
        self._last[session_id] = link
        log.info("audience link for %s made, valid until %s", session_id, link.expires_at)
        self._emit(ev.AudienceLinkChanged(session_id, link))
        return link

    async def revoke(self, session_id: str) -> None:
        """Every audience link of the session made so far stops (403 token_revoked)."""
        login = self._need_login()
        await login.api.revoke_audience_links(await login.access(), session_id)
        self._last.pop(session_id, None)
        log.info("audience links for %s revoked", session_id)
        self._emit(ev.AudienceLinkChanged(session_id, None))

    def forget(self) -> None:
        """Logged out or in as someone else: the links made here are no longer theirs."""
        self._last.clear()

    def _need_login(self) -> Login:
        login = self._login()
        if login is None:
            raise RecordingRefused(409, "not_logged_in", "Log in to the ReturnFeed cloud first.")
        return login
