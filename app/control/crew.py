"""The control API's crew endpoints: who has joined, flash, move, and the invite links
(list, revoke and re-issue, per camera and the viewers').

They call the session link's `Crew` (app/session_link/crew.py) on the loop the API runs on.
A refusal keeps its status and code (404 unknown_camera, unknown_phone, no_invite; 409
not_live, no_session); the backend failing is 502 (`guarded_route`). See docs/control-api.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tally.values import MAX_CAMERAS

from ..session_link.cloud_api import CloudError, Invite, Participant
from . import codec


class CrewControl(Protocol):
    async def roster(self) -> tuple[Participant, ...]: ...

    async def flash(self, camera: int | None) -> None: ...

    async def move(self, participant: str, camera: int) -> Participant: ...

    async def links(self) -> tuple[Invite, ...]: ...

    async def revoke(self, camera: int | None) -> int: ...

    async def reissue(self, camera: int | None, quality: str | None = None) -> Invite: ...


Handler = Callable[[Request, dict[str, Any]], Awaitable[dict[str, Any]]]
Guard = Callable[[Request], Awaitable[JSONResponse | dict[str, Any]]]


def camera_number(text: Any) -> int:
    """A camera number from the path or a body: a whole number 1..99."""
    if isinstance(text, str) and text.isdigit():
        text = int(text)
    if isinstance(text, bool) or not isinstance(text, int) or not 1 <= text <= MAX_CAMERAS:
        raise codec.BadRequest(f"a camera is a whole number from 1 to {MAX_CAMERAS}")
    return text


def link_of(text: Any) -> int | None:
    """Whose link a path names: a camera number, or "viewer" (None)."""
    return None if text == "viewer" else camera_number(text)


def participant_json(p: Participant) -> dict[str, Any]:
    out = asdict(p)
    for name in ("joined_at", "connected_since", "last_ack_at"):
        when = getattr(p, name)
        out[name] = when.isoformat() if when else None
    return out


def invite_json(invite: Invite) -> dict[str, Any]:
    return {
        "id": invite.id,
        "role": invite.role,
        "camera": invite.camera_number,
        "url": invite.url,
        "expires_at": invite.expires_at.isoformat() if invite.expires_at else None,
        "quality": invite.quality,
    }


QUALITIES = ("auto", "lo")


def quality_of(data: dict[str, Any], field: str = "quality") -> str | None:
    """A quality ceiling from the body: "auto", "lo", or None when absent."""
    quality = data.get(field)
    if quality is not None and quality not in QUALITIES:
        raise codec.BadRequest(f'{field} is "auto" (high or low by the network) or "lo" (low only)')
    return quality if isinstance(quality, str) else None


def crew_routes(crew: CrewControl, body: Guard) -> list[Route]:
    """`body` checks the token and reads the JSON body, or answers the refusal itself."""

    async def roster(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"phones": [participant_json(p) for p in await crew.roster()]}

    async def flash(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        await crew.flash(camera_number(request.path_params["number"]))
        return {}

    async def flash_all(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        await crew.flash(None)
        return {}

    async def move(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        phone = request.path_params["id"]
        moved = await crew.move(phone, camera_number(data.get("camera")))
        return {"phone": participant_json(moved)}

    async def links(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"invites": [invite_json(i) for i in await crew.links()]}

    async def revoke(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"revoked": await crew.revoke(link_of(request.path_params["camera"]))}

    async def reissue(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        camera = link_of(request.path_params["camera"])
        invite = await crew.reissue(camera, quality_of(data))
        return {"invite": invite_json(invite)}

    return [
        guarded_route(body, "/api/phones", roster, "GET"),
        guarded_route(body, "/api/cameras/all/flash", flash_all, "POST"),
        guarded_route(body, "/api/cameras/{number}/flash", flash, "POST"),
        guarded_route(body, "/api/phones/{id}/camera", move, "POST"),
        guarded_route(body, "/api/invites", links, "GET"),
        guarded_route(body, "/api/invites/{camera}/reissue", reissue, "POST"),
        guarded_route(body, "/api/invites/{camera}", revoke, "DELETE"),
    ]


# A backend refusal the caller can act on keeps its status (422, its validation, reads 400;
# its 401, a wrong password, 403: 401 here means the control token); the rest is 502.
KEPT_STATUS = {400: 400, 401: 403, 403: 403, 404: 404, 409: 409, 410: 410, 422: 400, 429: 429}


def guarded_route(body: Guard, path: str, handler: Handler, method: str) -> Route:
    """A route whose token and body `body` checks, and whose refusals become JSON errors."""

    async def endpoint(request: Request) -> JSONResponse:
        checked = await body(request)
        if isinstance(checked, JSONResponse):
            return checked
        try:
            out = await handler(request, checked)
        except codec.BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        except CloudError as exc:  # CrewRefused carries its own status
            status = KEPT_STATUS.get(exc.status or 0, 502)
            return _error(status, exc.code, exc.message)
        return JSONResponse({"ok": True, **out})

    return Route(path, endpoint, methods=[method])


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": {}}}, status)
