"""The control API's account and session endpoints: register and log in, list, create,
choose, rename and end sessions, and rotate the chosen session's SRT credentials.

They call the session link (app/session_link/link.py) on the loop the API runs on, as the
window does, so the window follows what Companion does. No answer carries a password, a
token or the SRT passphrase. See docs/control-api.md.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.routing import Route

from tally.values import MAX_CAMERAS

from ..session_link.cloud_api import SessionInfo, SrtCredentials
from . import codec
from .crew import Guard, guarded_route, quality_of


class SessionControl(Protocol):
    @property
    def session(self) -> SessionInfo | None: ...

    @property
    def on_air(self) -> object | None: ...

    async def sign_in(self, backend: str, email: str, password: str) -> str: ...

    async def create_account(self, backend: str, email: str, password: str, name: str) -> str: ...

    async def logout(self) -> None: ...

    async def live_sessions(self) -> tuple[SessionInfo, ...]: ...

    async def new_session(self, name: str, cameras: int) -> SessionInfo: ...

    async def select_session(self, session_id: str) -> SessionInfo: ...

    async def rename_session(self, session_id: str, name: str) -> SessionInfo: ...

    async def end_session(self, session_id: str) -> SessionInfo: ...

    async def set_quality_defaults(
        self, session_id: str, camera: str | None, viewer: str | None
    ) -> SessionInfo: ...

    async def rotate_srt(self) -> SrtCredentials: ...


def text(data: dict[str, Any], field: str, most: int = 254) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise codec.BadRequest(f"{field} is required text")
    if len(value) > most:
        raise codec.BadRequest(f"{field} is at most {most} characters")
    return value


def session_json(session: SessionInfo) -> dict[str, Any]:
    return {
        "id": session.id,
        "name": session.name,
        "state": session.state,
        "cameras": [{"number": c.number, "name": c.name} for c in session.cameras],
        "quality": {"camera": session.camera_quality, "viewer": session.viewer_quality},
    }


def session_routes(link: SessionControl, body: Guard) -> list[Route]:
    async def login(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        email = await link.sign_in(
            text(data, "backend"), text(data, "email"), text(data, "password")
        )
        return {"email": email}

    async def register(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        backend, email = text(data, "backend"), text(data, "email")
        password, name = text(data, "password", 256), text(data, "display_name", 64)
        return {"email": await link.create_account(backend, email, password, name)}

    async def logout(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        await link.logout()
        return {}

    async def listing(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        sessions = await link.live_sessions()
        chosen = link.session.id if link.session is not None else None
        return {"sessions": [session_json(s) for s in sessions], "chosen": chosen}

    async def create(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        cameras = data.get("cameras", 4)
        if isinstance(cameras, bool) or not isinstance(cameras, int):
            raise codec.BadRequest("cameras is a whole number")
        if not 1 <= cameras <= MAX_CAMERAS:
            raise codec.BadRequest(f"cameras is from 1 to {MAX_CAMERAS}")
        session = await link.new_session(text(data, "name", 100), cameras)
        return {"session": session_json(session)}

    async def choose(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"session": session_json(await link.select_session(session_id(request)))}

    async def rename(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        renamed = await link.rename_session(session_id(request), text(data, "name", 100))
        return {"session": session_json(renamed)}

    async def quality(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        camera, viewer = quality_of(data, "camera"), quality_of(data, "viewer")
        if camera is None and viewer is None:
            raise codec.BadRequest('give "camera" or "viewer" (or both): "auto" or "lo"')
        changed = await link.set_quality_defaults(session_id(request), camera, viewer)
        return {"session": session_json(changed)}

    async def end(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"session": session_json(await link.end_session(session_id(request)))}

    async def rotate(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        srt = await link.rotate_srt()
        expires = srt.expires_at.isoformat() if srt.expires_at else None
        return {"rotated": True, "live": link.on_air is not None, "token_expires_at": expires}

    return [
        guarded_route(body, "/api/account/login", login, "POST"),
        guarded_route(body, "/api/account/register", register, "POST"),
        guarded_route(body, "/api/account/logout", logout, "POST"),
        guarded_route(body, "/api/sessions", listing, "GET"),
        guarded_route(body, "/api/sessions", create, "POST"),
        guarded_route(body, "/api/sessions/{id}/choose", choose, "POST"),
        guarded_route(body, "/api/sessions/{id}", rename, "PATCH"),
        guarded_route(body, "/api/sessions/{id}/end", end, "POST"),
        guarded_route(body, "/api/sessions/{id}/quality", quality, "PATCH"),
        guarded_route(body, "/api/srt/rotate", rotate, "POST"),
    ]


def session_id(request: Request) -> str:
    value = str(request.path_params["id"])
    if not value.isascii() or not value.replace("-", "").replace("_", "").isalnum():
        raise codec.BadRequest("a session id is letters, digits, - and _")
    if len(value) > 64:
        raise codec.BadRequest("a session id is at most 64 characters")
    return value
