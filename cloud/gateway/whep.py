"""WHEP (draft-ietf-wish-whep) for viewers: POST an offer, get the answer; DELETE to leave.

    POST   /whep/{session_id}[?mode=auto|high|low] offer (application/sdp) -> 201 answer
    DELETE /whep/{session_id}/{viewer_id}          leave
    PATCH  /whep/{session_id}/{viewer_id}          405: aiortc has no trickle ICE
    POST   /whep/{session_id}/{viewer_id}/quality  {"mode": "auto" | "high" | "low"}
    GET    /whep/{session_id}/status               {"live", "layers", "viewers", "quality"}

Every call carries the participant token (from redeeming the invite link) as Bearer, and
the session must be the token's (else 403); the session's owner may use their login's
access token instead, to watch their own program. Viewers and the director watch; so do camera
phones, whose tally page can show the program under the tally colour (it is their return
feed). Watching is all a camera token opens here: the director's API still refuses it.

Each invite link carries a quality ceiling (auto, or lo only: docs/gateway.md, "Quality by
role"), read from the database at every call, so a renewed token keeps it. A lo-only viewer
that asks for high is not refused: it gets lo, and the answer says so and why.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.deps import (
    BackendDep,
    BearerDep,
    Caller,
    DbDep,
    current_participant,
    current_user,
    is_access_token,
)
from cloud.db.models import Invite, LiveSession, Participant
from cloud.errors import ApiError, Forbidden, NotFound, error_response
from cloud.gateway import admission, candidates
from cloud.gateway.gateway import Gateway, NoPublisher, UnknownViewer
from cloud.gateway.iceports import NoFreePort
from cloud.gateway.offer import BadOffer, parse_offer
from cloud.gateway.quality import CEILING_REASON, Ceiling, Mode
from cloud.gateway.viewer import Viewer

log = logging.getLogger(__name__)
router = APIRouter(tags=["viewer (WHEP)"])

MAX_SDP_BYTES = 16 * 1024
RETRY_AFTER_S = 2
ALLOWED = "OPTIONS, POST"
RESOURCE_ALLOWED = "OPTIONS, DELETE, PATCH"
WATCH_ROLES = ("viewer", "director", "camera")

SessionId = Annotated[str, Path(min_length=1, max_length=16)]
ViewerId = Annotated[str, Path(min_length=1, max_length=32)]


class QualityIn(BaseModel):
    mode: Mode


class QualityOut(BaseModel):
    mode: Mode  # as asked
    layer: str  # what the viewer gets: lo under a lo ceiling, whatever was asked
    active: str | None
    ceiling: Ceiling
    capped: bool  # asked for more than the link includes
    reason: str | None  # why, when capped


def _gateway(backend: BackendDep) -> Gateway:
    if backend.gateway is None:
        raise NotFound("this backend serves no video")
    return backend.gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]


async def _watcher(
    session_id: SessionId, backend: BackendDep, db: DbDep, credentials: BearerDep
) -> Caller:
    """A participant token (viewer, camera phone, a director invite), or the login of the
    session's owner: the director may watch their own program as the viewers get it."""
    if credentials is None or not is_access_token(backend, credentials.credentials):
        return await current_participant(backend, db, credentials)
    user = await current_user(backend, db, credentials)
    session = await db.get(LiveSession, session_id)
    if session is None or session.owner_id != user.id:
        raise Forbidden("this login does not own this session", {"reason": "session"})
    if session.ended_at is not None:
        raise Forbidden("the session has ended", {"reason": "session_ended"})
    found = await db.scalars(
        select(Participant).where(
            Participant.session_id == session_id,
            Participant.user_id == user.id,
            Participant.role == "director",
        )
    )
    participant = found.first()
    if participant is None:  # every session gets its owner's row when it is made
        raise Forbidden("this login is not this session's director", {"reason": "role"})
    return Caller(participant=participant, session=session)


CallerDep = Annotated[Caller, Depends(_watcher)]


async def link_ceiling(db: AsyncSession, caller: Caller) -> Ceiling:
    """The most this caller may watch: its invite link's ceiling (a link whose row is gone:
    the session's default for its role); the director watches both layers. The recordings'
    HLS reads it too: a link capped at lo replays the lo copy (docs/recording.md)."""
    participant = caller.participant
    if participant.role == "director":
        return "auto"
    invite = await db.get(Invite, participant.invite_id) if participant.invite_id else None
    stored = invite.quality if invite is not None else _session_default(caller)
    return "lo" if stored == "lo" else "auto"


async def _ceiling(db: DbDep, caller: CallerDep) -> Ceiling:
    return await link_ceiling(db, caller)


def _session_default(caller: Caller) -> str:
    session, role = caller.session, caller.participant.role
    return session.camera_quality if role == "camera" else session.viewer_quality


CeilingDep = Annotated[Ceiling, Depends(_ceiling)]


def _may_watch(caller: Caller, session_id: str) -> None:
    if caller.participant.role not in WATCH_ROLES:
        raise Forbidden("this link does not include watching the program", {"reason": "role"})
    if caller.session.id != session_id:
        raise Forbidden("this token is for another session", {"reason": "session"})


@router.options("/whep/{session_id}", include_in_schema=False)
async def whep_options(session_id: SessionId) -> Response:
    return Response(
        status_code=204,
        headers={"Allow": ALLOWED, "Accept-Post": "application/sdp"},
    )


@router.post("/whep/{session_id}", status_code=201, response_class=Response)
async def whep_offer(
    session_id: SessionId,
    request: Request,
    caller: CallerDep,
    ceiling: CeilingDep,
    gateway: GatewayDep,
    mode: Annotated[Mode, Query(description="the layer choice to start with")] = "auto",
) -> Response:
    _may_watch(caller, session_id)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/sdp":
        return error_response(415, "unsupported_media_type", "the offer must be application/sdp")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_SDP_BYTES:
        return _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SDP_BYTES:
            return _too_large()
    try:
        sdp = body.decode("ascii")
    except UnicodeDecodeError:
        raise ApiError("the offer is not an SDP (not ASCII)") from None
    if not sdp.startswith("v=0") or "m=video" not in sdp:
        raise ApiError("the offer is not an SDP with video")
    try:  # checked before the program is: a client with a broken offer learns so at once
        parse_offer(sdp)
    except BadOffer as exc:
        raise ApiError(str(exc), {"reason": exc.reason}) from None
    sdp = _screened(sdp, gateway.config.loopback_candidates)
    try:
        viewer, answer = await gateway.add_viewer(
            session_id, caller.participant.id, sdp, mode, ceiling
        )
    except NoPublisher:
        return error_response(
            503,
            "no_publisher",
            "the program is not on air yet",
            {"retry_after_s": RETRY_AFTER_S},
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    except admission.Refused as exc:
        gateway.metrics.viewers_refused.labels(exc.reason).inc()
        return error_response(
            exc.status,
            exc.code,
            str(exc),
            {"retry_after_s": exc.retry_after_s, "limit": exc.limit},
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    except NoFreePort as exc:
        # The port range is full: a clear refusal the page retries, never a hang.
        return error_response(
            503,
            "no_udp_port",
            str(exc),
            {"retry_after_s": RETRY_AFTER_S},
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    except BadOffer as exc:
        raise ApiError(str(exc), {"reason": exc.reason}) from None
    location = f"/whep/{session_id}/{viewer.id}"
    headers = {
        "Location": location,
        "Link": f'<{location}/quality>; rel="quality"',
        "Quality-Ceiling": ceiling,
    }
    if viewer.policy.capped:
        headers["Quality-Capped"] = CEILING_REASON
    return Response(answer, status_code=201, media_type="application/sdp", headers=headers)


def _screened(sdp: str, loopback_ok: bool) -> str:
    """The offer with only the candidates the gateway will check (candidates.py)."""
    screened = candidates.screen(sdp, loopback_ok)
    if screened.dropped:
        log.info(
            "WHEP offer: %d of %d candidates dropped %s",
            sum(screened.dropped.values()),
            screened.offered,
            dict(screened.dropped),
        )
    if screened.offered and not screened.kept:
        raise ApiError(
            f"none of the offer's {screened.offered} ICE candidates is one this server sends "
            "to (UDP, port 1024..65535, a unicast address or an mDNS .local name)",
            {"reason": "candidates", "dropped": dict(screened.dropped)},
        )
    return screened.sdp


def _too_large() -> Response:
    return error_response(
        413, "body_too_large", f"an SDP offer is at most {MAX_SDP_BYTES} bytes", {}
    )


@router.get("/whep/{session_id}/status")
async def whep_status(
    session_id: SessionId, caller: CallerDep, ceiling: CeilingDep, gateway: GatewayDep
) -> dict[str, Any]:
    _may_watch(caller, session_id)
    # The page shows its choices by the ceiling before it plays (and says why one is off).
    quality = {"ceiling": ceiling, "reason": CEILING_REASON if ceiling == "lo" else None}
    return gateway.status(session_id, caller.participant.id) | {"quality": quality}


@router.options("/whep/{session_id}/{viewer_id}", include_in_schema=False)
async def whep_resource_options(session_id: SessionId, viewer_id: ViewerId) -> Response:
    return Response(status_code=204, headers={"Allow": RESOURCE_ALLOWED})


@router.delete("/whep/{session_id}/{viewer_id}", status_code=204, response_class=Response)
async def whep_leave(
    session_id: SessionId, viewer_id: ViewerId, caller: CallerDep, gateway: GatewayDep
) -> Response:
    _may_watch(caller, session_id)
    viewer = _own_viewer(gateway, caller, session_id, viewer_id)
    await viewer.close()
    return Response(status_code=204)


@router.patch("/whep/{session_id}/{viewer_id}", include_in_schema=False)
async def whep_trickle(session_id: SessionId, viewer_id: ViewerId) -> Response:
    # aiortc gathers every candidate before answering and takes none later: the answer is
    # complete, and so must the offer be (wait for iceGatheringState "complete").
    return error_response(
        405,
        "method_not_allowed",
        "trickle ICE is not supported: send the offer with all candidates",
        headers={"Allow": RESOURCE_ALLOWED.replace(", PATCH", "")},
    )


@router.post("/whep/{session_id}/{viewer_id}/quality", response_model=QualityOut)
async def whep_quality(
    session_id: SessionId,
    viewer_id: ViewerId,
    body: QualityIn,
    caller: CallerDep,
    gateway: GatewayDep,
) -> QualityOut:
    _may_watch(caller, session_id)
    viewer = _own_viewer(gateway, caller, session_id, viewer_id)
    layer = viewer.set_mode(body.mode)
    policy = viewer.policy
    return QualityOut(
        mode=policy.mode,
        layer=layer,
        active=viewer.tap.active,
        ceiling=policy.ceiling,
        capped=policy.capped,
        reason=CEILING_REASON if policy.capped else None,
    )


def _own_viewer(gateway: Gateway, caller: Caller, session_id: str, viewer_id: str) -> Viewer:
    try:
        viewer = gateway.viewer(session_id, viewer_id)
    except UnknownViewer:
        raise NotFound("no such viewer", {"viewer_id": viewer_id}) from None
    if viewer.participant_id != caller.participant.id:
        raise NotFound("no such viewer", {"viewer_id": viewer_id})
    return viewer
