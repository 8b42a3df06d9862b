"""Short-lived TURN credentials for viewers and phones (the TURN REST shared-secret scheme).

coturn with `use-auth-secret` and `static-auth-secret=SECRET` accepts any username of the
form ``<expiry unix time>:<anything>`` whose password is base64(HMAC-SHA1(SECRET, username))
and whose expiry has not passed (draft-uberti-behave-turn-rest). The backend shares the
secret with coturn and mints a credential per participant each time a page asks for its
ICE servers (`GET /whep/{session}/status`), so no password ever sits in a page or a config
a viewer can read, and a leaked credential stops working after its TTL.

coturn checks the expiry when an allocation is made, not on its refreshes (coturn #774):
a viewer connected before expiry keeps its relay; a page that joins again asks for a fresh
credential first (the status call precedes every join).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field

TURN_URL = re.compile(
    r"^turns?:(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?$"
)


def check_turn_url(url: str) -> str:
    """``turn:HOST[:PORT][?transport=udp|tcp]`` or ``turns:…``, without credentials (the
    backend makes those); ValueError with the reason."""
    if "@" in url:
        raise ValueError("a --turn-url carries no user or password: the backend mints them")
    match = TURN_URL.match(url)
    if match is None:
        raise ValueError(f"TURN URL {url!r} is not turn:HOST[:PORT][?transport=udp|tcp]")
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"TURN URL {url!r}: the port must be 1..65535")
    return url


def rest_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class TurnRest:
    """The TURN servers a page gets, with a credential minted per participant."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl_s: int = 3600

    def ice_server(self, participant_id: str, now: float | None = None) -> dict[str, object]:
        """One RTCIceServer (the browser's dictionary) for this participant, valid for
        `ttl_s` from `now`."""
        expiry = int(time.time() if now is None else now) + self.ttl_s
        username = f"{expiry}:{participant_id}"
        return {
            "urls": list(self.urls),
            "username": username,
            "credential": rest_password(self.secret, username),
        }
