"""Invite links: the director makes and revokes them; phones and viewers redeem them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud import quotas
from cloud.api.schemas import (
    InviteCreateIn,
    InviteOut,
    JoinOut,
    ParticipantOut,
    ParticipantTokenOut,
    RedeemIn,
    SessionSummaryOut,
)
from cloud.api.sessions import OwnedSession, default_quality, list_cameras
from cloud.auth.deps import BackendDep, CallerDep, DbDep, client_address
from cloud.auth.tokens import ParticipantClaims, TokenError, new_id
from cloud.backend import Backend
from cloud.db.models import Camera, Invite, LiveSession, Participant
from cloud.db.types import utcnow
from cloud.errors import ApiError, Conflict, Gone, NotFound, Unauthorized
from cloud.relay.crew import Connected, crew_presence

router = APIRouter(tags=["invites"])

# Where each role's link opens: the phone tally page or the viewer page.
LINK_PATHS = {"camera": "/tally", "viewer": "/watch"}


def link_base(backend: Backend, request: Request) -> str:
    """Where links point: --public-url when given, else the scheme and host this request came
    to (through a trusted proxy: X-Forwarded-Proto and -Host, cloud/tls/forwarded.py), so a
    director who reached the backend at https://192.168.1.20:8443 hands out links there."""
    if backend.settings.public_url:
        return backend.settings.base_url
    return str(request.base_url).rstrip("/")


def invite_url(backend: Backend, invite: Invite, base: str) -> str:
    # The token rides in the fragment so it never reaches access logs or Referer headers.
    token = backend.signer.invite_token(invite.id)
    return f"{base}{LINK_PATHS[invite.role]}#{token}"


def _invite_out(backend: Backend, invite: Invite, base: str) -> InviteOut:
    return InviteOut(
        id=invite.id,
        role=invite.role,  # type: ignore[arg-type]  # stored values are checked on the way in
        camera_number=invite.camera_number,
        label=invite.label,
        quality=invite.quality,  # type: ignore[arg-type]  # stored values are checked on the way in
        created_at=invite.created_at,
        expires_at=invite.expires_at,
        revoked=invite.revoked_at is not None,
        uses=invite.uses,
        token=backend.signer.invite_token(invite.id),
        url=invite_url(backend, invite, base),
    )


async def _camera_exists(db: AsyncSession, session_id: str, number: int) -> bool:
    found = await db.scalar(
        select(Camera.id).where(Camera.session_id == session_id, Camera.number == number)
    )
    return found is not None


@router.post("/api/sessions/{session_id}/invites", status_code=201, response_model=InviteOut)
async def create_invite(
    body: InviteCreateIn, session: OwnedSession, backend: BackendDep, db: DbDep, request: Request
) -> InviteOut:
    if session.ended_at is not None:
        raise Conflict("the session has ended", {"session_id": session.id})
    if body.role == "viewer" and body.camera_number is not None:
        raise ApiError("a viewer invite cannot be bound to a camera", {"field": "camera_number"})
    if body.camera_number is not None and not await _camera_exists(
        db, session.id, body.camera_number
    ):
        raise NotFound(f"camera {body.camera_number} does not exist in this session")
    now = utcnow()
    await quotas.check_invites(db, session.owner_id, backend.settings.max_invites_per_user, now)
    ttl_s = body.ttl_seconds if body.ttl_seconds is not None else backend.settings.invite_ttl_s
    invite = Invite(
        id=new_id(),
        session_id=session.id,
        role=body.role,
        camera_number=body.camera_number,
        label=body.label,
        quality=body.quality or default_quality(session, body.role),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        uses=0,
    )
    db.add(invite)
    await db.commit()
    return _invite_out(backend, invite, link_base(backend, request))


@router.get("/api/sessions/{session_id}/invites", response_model=list[InviteOut])
async def list_invites(
    session: OwnedSession, backend: BackendDep, db: DbDep, request: Request
) -> list[InviteOut]:
    rows = await db.scalars(
        select(Invite).where(Invite.session_id == session.id).order_by(Invite.created_at)
    )
    base = link_base(backend, request)
    return [_invite_out(backend, invite, base) for invite in rows]


@router.delete("/api/sessions/{session_id}/invites/{invite_id}", status_code=204)
async def revoke_invite(
    invite_id: Annotated[str, Path(max_length=32)],
    session: OwnedSession,
    db: DbDep,
    backend: BackendDep,
) -> Response:
    invite = await db.get(Invite, invite_id)
    if invite is None or invite.session_id != session.id:
        raise NotFound("no such invite", {"invite_id": invite_id})
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        await db.commit()
        found = await db.scalars(select(Participant.id).where(Participant.invite_id == invite.id))
        joined = list(found)
        backend.relay.revoke(session.id, joined, "the director revoked this invite link")
        if backend.gateway is not None:
            await backend.gateway.participants_left(session.id, joined)
    return Response(status_code=204)


@router.get("/api/sessions/{session_id}/participants", response_model=list[ParticipantOut])
async def list_participants(
    session: OwnedSession, db: DbDep, backend: BackendDep
) -> list[ParticipantOut]:
    rows = await db.scalars(
        select(Participant)
        .where(Participant.session_id == session.id)
        .order_by(Participant.joined_at)
    )
    here = crew_presence(await backend.relay.crew(session.id))
    return [_participant_out(p, here.get(p.id)) for p in rows]


@router.delete("/api/sessions/{session_id}/participants/{participant_id}", status_code=204)
async def remove_participant(
    participant_id: Annotated[str, Path(max_length=32)],
    session: OwnedSession,
    db: DbDep,
    backend: BackendDep,
) -> Response:
    participant = await db.get(Participant, participant_id)
    if participant is None or participant.session_id != session.id:
        raise NotFound("no such participant", {"participant_id": participant_id})
    if participant.role == "director":
        raise ApiError("the director cannot be removed from their own session")
    await db.delete(participant)
    await db.commit()
    backend.relay.revoke(session.id, [participant_id], "the director removed you from the session")
    if backend.gateway is not None:
        await backend.gateway.participants_left(session.id, [participant_id])
    return Response(status_code=204)


def _participant_out(p: Participant, here: Connected | None = None) -> ParticipantOut:
    return ParticipantOut(
        id=p.id,
        role=p.role,  # type: ignore[arg-type]  # stored values are checked on the way in
        display_name=p.display_name,
        camera_number=p.camera_number,
        joined_at=p.joined_at,
        connected_since=here.since if here is not None else None,
        last_ack_at=here.last_ack if here is not None else None,
    )


async def _join_out(
    db: AsyncSession, p: Participant, session: LiveSession, token: str, ttl: int
) -> JoinOut:
    cameras = await list_cameras(db, session.id) if p.role == "camera" else []
    return JoinOut(
        participant=_participant_out(p),
        participant_token=token,
        expires_in=ttl,
        session=SessionSummaryOut(id=session.id, name=session.name, state="live"),
        cameras=cameras,
    )


@router.post("/api/invites/redeem", status_code=201, response_model=JoinOut)
async def redeem_invite(
    body: RedeemIn, request: Request, backend: BackendDep, db: DbDep
) -> JoinOut:
    backend.redeem_limiter.check(client_address(request))
    try:
        invite_id = backend.signer.read_invite_token(body.token)
    except TokenError as exc:
        backend.metrics.auth_failures.labels("bad_invite").inc()
        raise Unauthorized(str(exc)) from exc
    invite = await db.get(Invite, invite_id)
    if invite is None:
        raise Unauthorized("invite token is invalid")
    now = utcnow()
    if invite.revoked_at is not None:
        raise Gone("this invite link was revoked by the director", {"reason": "revoked"})
    if invite.expires_at <= now:
        raise Gone("this invite link has expired", {"reason": "expired"})
    session = await db.get(LiveSession, invite.session_id)
    if session is None or session.ended_at is not None:
        raise Gone("the session has ended", {"reason": "session_ended"})
    camera_number = invite.camera_number
    if invite.role == "camera" and body.camera_number is not None:
        if camera_number is not None and body.camera_number != camera_number:
            raise ApiError(
                f"this link is bound to camera {camera_number}", {"field": "camera_number"}
            )
        camera_number = body.camera_number
    elif invite.role == "viewer" and body.camera_number is not None:
        raise ApiError("a viewer link does not take a camera", {"field": "camera_number"})
    if camera_number is not None and not await _camera_exists(db, session.id, camera_number):
        raise NotFound(f"camera {camera_number} does not exist in this session")
    default_name = f"Camera {camera_number}" if camera_number else invite.role.title()
    participant = Participant(
        id=new_id(),
        session_id=session.id,
        role=invite.role,
        invite_id=invite.id,
        display_name=body.display_name or default_name,
        camera_number=camera_number,
        joined_at=now,
    )
    db.add(participant)
    await db.execute(update(Invite).where(Invite.id == invite.id).values(uses=Invite.uses + 1))
    await db.commit()
    token, ttl_s = _participant_token(backend, participant)
    return await _join_out(db, participant, session, token, ttl_s)


def _participant_token(backend: Backend, participant: Participant) -> tuple[str, int]:
    """A token with a lifetime of its own, not the invite's: the invite gates joining only,
    and the pages renew this one (below) for as long as the participant is a member."""
    ttl_s = backend.settings.participant_ttl_s
    claims = ParticipantClaims(
        participant_id=participant.id, session_id=participant.session_id, role=participant.role
    )
    return backend.signer.participant_token(claims, utcnow(), timedelta(seconds=ttl_s)), ttl_s


@router.get("/api/participant", response_model=ParticipantOut)
async def who_am_i(caller: CallerDep) -> ParticipantOut:
    return _participant_out(caller.participant)


@router.post("/api/participant/token", response_model=ParticipantTokenOut)
async def renew_participant_token(caller: CallerDep, backend: BackendDep) -> ParticipantTokenOut:
    """A fresh token for a participant that is still a member, presenting its current,
    unexpired one. An expired token is refused (401): the page then redeems its link again."""
    token, ttl_s = _participant_token(backend, caller.participant)
    return ParticipantTokenOut(participant_token=token, expires_in=ttl_s)
