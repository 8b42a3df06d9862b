"""Sessions a director owns: create, list, rename, end; cameras (SRT credentials: srt.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud import quotas
from cloud.api.credentials import alnum, new_passphrase, new_publish_token, token_expiry
from cloud.api.pages import Cursor, PageLimit, page_link
from cloud.api.schemas import (
    CameraIn,
    CameraOut,
    CameraPatchIn,
    QualityDefaults,
    QualityDefaultsIn,
    SessionCreateIn,
    SessionOut,
    SessionPatchIn,
)
from cloud.auth.deps import BackendDep, DbDep, UserDep
from cloud.auth.tokens import new_id
from cloud.db.models import Camera, LiveSession, Participant, User
from cloud.db.types import utcnow
from cloud.errors import ApiError, Conflict, NotFound
from cloud.gateway.quality import Ceiling
from cloud.relay.state import CameraRow

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(min_length=1, max_length=16)]
CameraPath = Annotated[int, Path(ge=1, le=99)]


def new_session_id() -> str:
    return alnum(11)  # ~65 bits


async def owned_session(session_id: SessionId, user: UserDep, db: DbDep) -> LiveSession:
    session = await db.get(LiveSession, session_id)
    # Someone else's session looks exactly like a missing one.
    if session is None or session.owner_id != user.id:
        raise NotFound("no such session", {"session_id": session_id})
    return session


OwnedSession = Annotated[LiveSession, Depends(owned_session)]


def require_live(session: LiveSession) -> None:
    if session.ended_at is not None:
        raise Conflict("the session has ended and can no longer change", {"session_id": session.id})


def _unique_numbers(cameras: list[CameraIn]) -> None:
    numbers = [c.number for c in cameras]
    dupes = sorted({n for n in numbers if numbers.count(n) > 1})
    if dupes:
        raise ApiError("camera numbers must be unique", {"duplicates": dupes})


async def list_cameras(db: AsyncSession, session_id: str) -> list[CameraOut]:
    rows = await db.scalars(
        select(Camera).where(Camera.session_id == session_id).order_by(Camera.number)
    )
    return [CameraOut(number=c.number, name=c.name, ndi_source=c.ndi_source) for c in rows]


def default_quality(session: LiveSession, role: str) -> Ceiling:
    """The ceiling a new `role` link gets unless the director picks one; a director (or a
    role without a default) watches with both layers."""
    stored = {"camera": session.camera_quality, "viewer": session.viewer_quality}.get(role)
    return "lo" if stored == "lo" else "auto"


async def session_out(db: AsyncSession, session: LiveSession) -> SessionOut:
    return SessionOut(
        id=session.id,
        name=session.name,
        state="ended" if session.ended_at else "live",
        created_at=session.created_at,
        ended_at=session.ended_at,
        cameras=await list_cameras(db, session.id),
        quality=QualityDefaults(
            camera=default_quality(session, "camera"), viewer=default_quality(session, "viewer")
        ),
        recording=session.recording,
    )


async def _tell_relay(backend: BackendDep, db: AsyncSession, session_id: str) -> list[CameraOut]:
    """Phones show camera names: the session's relay room takes the new list (docs/relay.md)."""
    cameras = await list_cameras(db, session_id)
    rows = [CameraRow(c.number, c.name, c.ndi_source) for c in cameras]
    backend.relay.cameras_edited(session_id, rows)
    return cameras


def _camera(session_id: str, cam: CameraIn) -> Camera:
    return Camera(
        session_id=session_id, number=cam.number, name=cam.name, ndi_source=cam.ndi_source
    )


@router.post("", status_code=201, response_model=SessionOut)
async def create_session(
    body: SessionCreateIn, user: UserDep, db: DbDep, backend: BackendDep
) -> SessionOut:
    _unique_numbers(body.cameras)
    await quotas.check_sessions(db, user.id, backend.settings.max_sessions_per_user)
    session = LiveSession(
        id=new_session_id(),
        owner_id=user.id,
        name=body.name,
        srt_passphrase=new_passphrase(),
        srt_publish_token=new_publish_token(),
        srt_publish_token_expires_at=token_expiry(backend.settings.srt_token_ttl_s),
    )
    db.add(session)
    await db.flush()
    db.add_all(_camera(session.id, cam) for cam in body.cameras)
    db.add(_director(session, user))
    await db.commit()
    if backend.gateway is not None:  # the SRT listener may take this session's publisher now
        backend.gateway.session_changed(session, kick=False)
    return await session_out(db, session)


def _director(session: LiveSession, user: User) -> Participant:
    return Participant(
        id=new_id(),
        session_id=session.id,
        role="director",
        user_id=user.id,
        display_name=user.display_name,
    )


@router.get("", response_model=list[SessionOut])
async def list_sessions(
    user: UserDep,
    db: DbDep,
    request: Request,
    response: Response,
    include_ended: bool = False,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> list[SessionOut]:
    """Newest first, `limit` at a time; a `Link: <...>; rel="next"` header names the next
    page while there is one (the body stays a plain list, as it always was)."""
    query = select(LiveSession).where(LiveSession.owner_id == user.id)
    if not include_ended:
        query = query.where(LiveSession.ended_at.is_(None))
    if cursor is not None:
        after = Cursor.parse(cursor)
        query = query.where(
            or_(
                LiveSession.created_at < after.created_at,
                and_(LiveSession.created_at == after.created_at, LiveSession.id < after.id),
            )
        )
    order = (LiveSession.created_at.desc(), LiveSession.id.desc())
    sessions = list(await db.scalars(query.order_by(*order).limit(limit + 1)))
    if len(sessions) > limit:
        sessions = sessions[:limit]
        last = sessions[-1]
        response.headers["Link"] = page_link(request, Cursor(last.created_at, last.id))
    return [await session_out(db, s) for s in sessions]


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session: OwnedSession, db: DbDep) -> SessionOut:
    return await session_out(db, session)


@router.patch("/{session_id}", response_model=SessionOut)
async def rename_session(body: SessionPatchIn, session: OwnedSession, db: DbDep) -> SessionOut:
    require_live(session)
    session.name = body.name
    await db.commit()
    return await session_out(db, session)


@router.patch("/{session_id}/quality", response_model=SessionOut)
async def set_quality_defaults(
    body: QualityDefaultsIn, session: OwnedSession, db: DbDep
) -> SessionOut:
    """Each role's default ceiling for the links made from now on; links already handed out
    keep theirs (re-issue one to change it)."""
    require_live(session)
    if body.camera is not None:
        session.camera_quality = body.camera
    if body.viewer is not None:
        session.viewer_quality = body.viewer
    await db.commit()
    return await session_out(db, session)


@router.post("/{session_id}/end", response_model=SessionOut)
async def end_session(session: OwnedSession, db: DbDep, backend: BackendDep) -> SessionOut:
    if session.ended_at is None:
        session.ended_at = utcnow()
        await db.commit()
        backend.relay.revoke(session.id, None, "the director ended the session")
        if backend.gateway is not None:
            await backend.gateway.session_ended(session.id)
    return await session_out(db, session)


@router.put("/{session_id}/cameras", response_model=list[CameraOut])
async def replace_cameras(
    body: Annotated[list[CameraIn], Body(max_length=99)],
    session: OwnedSession,
    db: DbDep,
    backend: BackendDep,
) -> list[CameraOut]:
    require_live(session)
    _unique_numbers(body)
    await db.execute(delete(Camera).where(Camera.session_id == session.id))
    db.add_all(_camera(session.id, cam) for cam in body)
    await db.commit()
    return await _tell_relay(backend, db, session.id)


@router.post("/{session_id}/cameras", status_code=201, response_model=CameraOut)
async def add_camera(
    body: CameraIn, session: OwnedSession, db: DbDep, backend: BackendDep
) -> CameraOut:
    require_live(session)
    db.add(_camera(session.id, body))
    try:
        await db.commit()
    except IntegrityError as exc:
        raise Conflict(f"camera {body.number} already exists", {"number": body.number}) from exc
    await _tell_relay(backend, db, session.id)
    return CameraOut(number=body.number, name=body.name, ndi_source=body.ndi_source)


async def _get_camera(db: AsyncSession, session: LiveSession, number: int) -> Camera:
    camera = await db.scalar(
        select(Camera).where(Camera.session_id == session.id, Camera.number == number)
    )
    if camera is None:
        raise NotFound(f"camera {number} does not exist", {"number": number})
    return camera


@router.patch("/{session_id}/cameras/{number}", response_model=CameraOut)
async def update_camera(
    number: CameraPath,
    body: CameraPatchIn,
    session: OwnedSession,
    db: DbDep,
    backend: BackendDep,
) -> CameraOut:
    require_live(session)
    camera = await _get_camera(db, session, number)
    if body.name is not None:
        camera.name = body.name
    if "ndi_source" in body.model_fields_set:
        camera.ndi_source = body.ndi_source
    await db.commit()
    await _tell_relay(backend, db, session.id)
    return CameraOut(number=camera.number, name=camera.name, ndi_source=camera.ndi_source)


@router.delete("/{session_id}/cameras/{number}", status_code=204)
async def delete_camera(
    number: CameraPath, session: OwnedSession, db: DbDep, backend: BackendDep
) -> Response:
    require_live(session)
    await db.delete(await _get_camera(db, session, number))
    await db.commit()
    await _tell_relay(backend, db, session.id)
    return Response(status_code=204)
