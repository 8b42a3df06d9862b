"""The control API's recording endpoints: a session's recording switch, its recordings,
and download (to a file the caller names, on this machine), play and delete.

They call the session link's `Recordings` (app/session_link/recordings.py) on the loop the
API runs on, as the window does. A refusal keeps its status and code: 404 for an unknown
session or recording, 400 for deleting the one being written; the backend failing is 502
(`guarded_route`). See docs/control-api.md.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.routing import Route

from ..session_link.recording_info import Recording, RecordingList, RecordingSwitch
from . import codec
from .crew import Guard, guarded_route
from .sessions import session_id


class RecordingControl(Protocol):
    async def set_switch(self, session_id: str, on: bool) -> RecordingSwitch: ...

    async def listing(self, session_id: str) -> RecordingList: ...

    async def download(self, session_id: str, recording_id: str, dest: Path) -> int: ...

    async def play(self, session_id: str, recording_id: str) -> Path: ...

    async def delete(self, session_id: str, recording_id: str) -> None: ...


def recording_json(rec: Recording) -> dict[str, Any]:
    out = asdict(rec)
    out["started_at"] = rec.started_at.isoformat() if rec.started_at else None
    return out


def listing_json(listing: RecordingList) -> dict[str, Any]:
    return {
        "on": listing.on,
        "now": asdict(listing.now),
        "recordings": [recording_json(r) for r in listing.recordings],
    }


def destination(data: dict[str, Any]) -> Path:
    """Where a download goes: an absolute path to a file in a folder that exists."""
    value = data.get("path")
    if not isinstance(value, str) or not value.strip() or len(value) > 4096:
        raise codec.BadRequest("path is required: the file to write, an absolute path")
    path = Path(value)
    if not path.is_absolute():
        raise codec.BadRequest("path must be absolute")
    if not path.parent.is_dir():
        raise codec.BadRequest(f"no folder {str(path.parent)!r}")
    if path.is_dir():
        raise codec.BadRequest("path names a folder: give a file name")
    if path.exists() and data.get("overwrite") is not True:
        raise codec.BadRequest('the file exists: give "overwrite": true to replace it')
    return path


def recording_routes(recordings: RecordingControl, body: Guard) -> list[Route]:
    def rec_id(request: Request) -> str:
        return str(request.path_params["rec"])

    async def switch(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        on = data.get("on")
        if not isinstance(on, bool):
            raise codec.BadRequest('give "on": true or false')
        return {"recording": asdict(await recordings.set_switch(session_id(request), on))}

    async def listing(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return listing_json(await recordings.listing(session_id(request)))

    async def download(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        dest = destination(data)
        size = await recordings.download(session_id(request), rec_id(request), dest)
        return {"path": str(dest), "bytes": size}

    async def play(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        return {"path": str(await recordings.play(session_id(request), rec_id(request)))}

    async def delete(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        await recordings.delete(session_id(request), rec_id(request))
        return {}

    base = "/api/sessions/{id}/recordings"
    return [
        guarded_route(body, "/api/sessions/{id}/recording", switch, "PATCH"),
        guarded_route(body, base, listing, "GET"),
        guarded_route(body, base + "/{rec}/download", download, "POST"),
        guarded_route(body, base + "/{rec}/play", play, "POST"),
        guarded_route(body, base + "/{rec}", delete, "DELETE"),
    ]
