"""Audience links to a session's HLS (docs/recording.md, "HLS for audiences"):

    POST   /api/sessions/{id}/audience   a link anyone may play, until it expires
    DELETE /api/sessions/{id}/audience   revoke every audience link made so far

The director only. A link is an HMAC of the session, its audience generation and an expiry
(cloud/api/recording_access.py); revoking bumps the generation, so every link made before
stops at once on this process and within `AudienceEpochs`' few seconds on the others.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import update

from cloud.api.recording_access import DirectorDep, SessionId, audience_token
from cloud.auth.deps import BackendDep, DbDep
from cloud.db.models import LiveSession
from cloud.errors import NotFound

router = APIRouter(tags=["HLS"])
AUDIENCE_TTL_S = 24 * 3600


class AudienceIn(BaseModel):
    ttl_s: int = Field(AUDIENCE_TTL_S, ge=60, le=30 * 24 * 3600)


@router.post("/api/sessions/{session_id}/audience", status_code=201)
async def make_link(
    session_id: SessionId,
    body: AudienceIn,
    request: Request,
    _director: DirectorDep,
    backend: BackendDep,
    db: DbDep,
) -> dict[str, Any]:
    """A link anyone may play the session's HLS with, until it expires or is revoked."""
    session = await db.get(LiveSession, session_id)
    if session is None:
        raise NotFound("no such session", {"session_id": session_id})
    expires_at = int(time.time()) + body.ttl_s
    secret = backend.settings.jwt_secret
    token = audience_token(secret, session_id, session.audience_epoch, expires_at)
    base = backend.settings.public_url or str(request.base_url)
    return {
        "url": f"{base.rstrip('/')}/hls/{session_id}/a/{token}/index.m3u8",
        "expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat(),
    }


@router.delete("/api/sessions/{session_id}/audience", status_code=204)
async def revoke_links(
    session_id: SessionId, _director: DirectorDep, backend: BackendDep, db: DbDep
) -> Response:
    """Every audience link made so far stops working; links made after work again."""
    bump = (
        update(LiveSession)
        .where(LiveSession.id == session_id)
        .values(audience_epoch=LiveSession.audience_epoch + 1)
    )
    await db.execute(bump)
    await db.commit()
    backend.audience.forget(session_id)
    return Response(status_code=204)
