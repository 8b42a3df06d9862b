"""The control API's audience links (docs/recording.md, "HLS for audiences"): make one for
a session's HLS with a validity, read the last one made here, revoke them all.

They call the session link's `Audience` (app/session_link/audience.py) on the loop the API
runs on, as the window does. A validity that is not a whole number of seconds from 60 to
30 days is 400 `bad_request`; an unknown session keeps the backend's 404 (`guarded_route`).
See docs/control-api.md.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.routing import Route

from ..session_link.audience import DEFAULT_TTL_S, checked_ttl
from ..session_link.cloud_api import AudienceLink
from .crew import Guard, guarded_route
from .sessions import session_id


class AudienceControl(Protocol):
    def last(self, session_id: str) -> AudienceLink | None: ...

    async def make(self, session_id: str, ttl_s: int = DEFAULT_TTL_S) -> AudienceLink: ...

    async def revoke(self, session_id: str) -> None: ...


def audience_json(link: AudienceLink | None) -> dict[str, Any] | None:
    if link is None:
        return None
    expires_at = link.expires_at.isoformat() if link.expires_at else None
    return {"url": link.url, "expires_at": expires_at}


def audience_routes(audience: AudienceControl, body: Guard) -> list[Route]:
    async def make(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        ttl = checked_ttl(data.get("ttl_s", DEFAULT_TTL_S))  # before any call: 400 here
        return {"audience": audience_json(await audience.make(session_id(request), ttl))}

    async def last(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"audience": audience_json(audience.last(session_id(request)))}

    async def revoke(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        await audience.revoke(session_id(request))
        return {"revoked": True}

    path = "/api/sessions/{id}/audience"
    return [
        guarded_route(body, path, make, "POST"),
        guarded_route(body, path, last, "GET"),
        guarded_route(body, path, revoke, "DELETE"),
    ]
