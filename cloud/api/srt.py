"""A session's SRT credentials: the passphrase and the expiring publish token.

The publish token admits new SRT handshakes until it expires (`--srt-token-ttl-s`); the
gateway checks it only while a publisher connects, so one already streaming is never cut
by expiry. Reading the credentials in the token's last quarter (or after it) renews the
token first: a director's app that reconnects after a day on air fetches them again and
gets one that works, and nobody is kicked. Rotating replaces them and does kick.
"""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.api.credentials import new_passphrase, new_publish_token, renewal_due, token_expiry
from cloud.api.schemas import SrtCredentialsOut, SrtRotateIn
from cloud.api.sessions import OwnedSession, require_live
from cloud.auth.deps import BackendDep, DbDep
from cloud.db.models import LiveSession
from cloud.db.types import utcnow
from cloud.errors import ApiError
from cloud.gateway.units import LAYERS
from cloud.scale.owner import OwnershipUnavailable

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


async def renew_publish_token(db: AsyncSession, session: LiveSession, ttl_s: int) -> None:
    """A new token and expiry, unless a concurrent read renewed it first: then that one.

    The update names the old token, so two reads at once (both layers, or two backend
    processes) agree on one new token instead of the second one voiding the first.
    """
    await db.execute(
        update(LiveSession)
        .where(
            LiveSession.id == session.id,
            LiveSession.srt_publish_token == session.srt_publish_token,
        )
        .values(
            srt_publish_token=new_publish_token(),
            srt_publish_token_expires_at=token_expiry(ttl_s),
        )
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    await db.refresh(session)


class SrtIngestOut(SrtCredentialsOut):
    """The credentials and where to send: `srt_url` is null when this backend has no ingest."""

    srt_host: str
    srt_port: int | None
    srt_url: str | None


class OwnerUnknown(ApiError):
    status = 503
    code = "srt_owner_unknown"


async def _srt_out(backend: BackendDep, session: LiveSession) -> SrtIngestOut:
    settings = backend.settings
    gateway = backend.gateway
    port = gateway.srt_port if gateway is not None else None
    host = settings.srt_public_host
    cluster = gateway.cluster if gateway is not None else None
    if cluster is not None and port is not None and session.ended_at is None:
        # Several processes: send to the session's owner, this one if nobody owns it yet.
        try:
            owner = await cluster.ownership.claim(session.id)
        except OwnershipUnavailable as exc:
            raise OwnerUnknown("no process can say who takes this session's SRT now") from exc
        host, port = owner.srt_address
    return SrtIngestOut(
        session_id=session.id,
        passphrase=session.srt_passphrase,
        publish_token=session.srt_publish_token,
        publish_token_expires_at=session.srt_publish_token_expires_at,
        srt_host=host,
        srt_port=port,
        srt_url=f"srt://{host}:{port}" if port is not None else None,
    )


@router.get("/{session_id}/srt", response_model=SrtIngestOut)
async def srt_credentials(session: OwnedSession, db: DbDep, backend: BackendDep) -> SrtIngestOut:
    ttl_s = backend.settings.srt_token_ttl_s
    expires_at = session.srt_publish_token_expires_at
    if session.ended_at is None and renewal_due(expires_at, ttl_s, utcnow()):
        await renew_publish_token(db, session, ttl_s)
        if backend.gateway is not None:  # new handshakes need the new token; nobody is kicked
            backend.gateway.session_changed(session, kick=False)
    return await _srt_out(backend, session)


@router.post("/{session_id}/srt/rotate", response_model=SrtIngestOut)
async def rotate_srt_credentials(
    body: SrtRotateIn, session: OwnedSession, db: DbDep, backend: BackendDep
) -> SrtIngestOut:
    require_live(session)
    if body.passphrase:
        session.srt_passphrase = new_passphrase()
    if body.publish_token:
        session.srt_publish_token = new_publish_token()
        session.srt_publish_token_expires_at = token_expiry(backend.settings.srt_token_ttl_s)
    await db.commit()
    if backend.gateway is not None:  # the old credentials stop working now, publisher too
        backend.gateway.session_changed(session, kick=True)
    return await _srt_out(backend, session)


class LayerDamageOut(BaseModel):
    lost: int  # missing on arrival, before any repair
    fec_rebuilt: int
    unrecovered: int  # never played: each one a broken picture until the next keyframe
    ts_gaps: int


class SrtHealthOut(BaseModel):
    """What this process's ingest saw of the session's layers since it started (counters:
    a client compares two reads). Another backend process's ingest is not included."""

    session_id: str
    layers: dict[str, LayerDamageOut]


@router.get("/{session_id}/srt/health", response_model=SrtHealthOut)
async def srt_health(session: OwnedSession, backend: BackendDep) -> SrtHealthOut:
    gateway = backend.gateway
    seen = {layer: gateway.link_damage(session.id, layer) for layer in LAYERS} if gateway else {}
    layers = {layer: LayerDamageOut(**dataclasses.asdict(d)) for layer, d in seen.items()}
    return SrtHealthOut(session_id=session.id, layers=layers)
