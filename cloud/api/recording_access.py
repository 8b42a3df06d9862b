"""Who may read a session's recordings and HLS: its director (the owner's login), its
camera and viewer links (participant tokens, while the session lives), and whoever holds
an audience link the director made (HLS only; an HMAC of the session, the session's
audience generation and an expiry: revoking every audience link bumps the generation)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path

from cloud.auth.deps import (
    BackendDep,
    BearerDep,
    DbDep,
    current_participant,
    current_user,
    is_access_token,
)
from cloud.db.models import LiveSession
from cloud.errors import Forbidden, NotFound
from cloud.gateway.quality import Ceiling
from cloud.gateway.whep import link_ceiling
from cloud.record.recorder import Recorder

READ_ROLES = ("director", "camera", "viewer")
SessionId = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


@dataclass(frozen=True, slots=True)
class Reader:
    role: str  # director, camera, viewer or audience
    key: str  # one reader, for the DVR viewer count
    # Its link's quality ceiling, as for live video: "lo" reads the recordings' lo copy only
    # (docs/recording.md); the director, auto links and audience links read hi.
    ceiling: Ceiling = "auto"


class NoRecordings(NotFound):
    """The backend runs with --no-recording: a code of its own, so the app can say so."""

    code = "no_recordings"


def recorder_of(backend: BackendDep) -> Recorder:
    if backend.recorder is None:
        raise NoRecordings("this backend keeps no recordings")
    return backend.recorder


RecorderDep = Annotated[Recorder, Depends(recorder_of)]


async def reader(
    session_id: SessionId, backend: BackendDep, db: DbDep, credentials: BearerDep
) -> Reader:
    if credentials is not None and is_access_token(backend, credentials.credentials):
        user = await current_user(backend, db, credentials)
        session = await db.get(LiveSession, session_id)
        if session is None or session.owner_id != user.id:
            raise NotFound("no such session", {"session_id": session_id})
        return Reader("director", f"user:{user.id}")
    caller = await current_participant(backend, db, credentials)
    if caller.session.id != session_id:
        raise Forbidden("this token is for another session", {"reason": "session"})
    if caller.participant.role not in READ_ROLES:
        raise Forbidden("this link does not include the recordings", {"reason": "role"})
    ceiling = await link_ceiling(db, caller)
    return Reader(caller.participant.role, f"participant:{caller.participant.id}", ceiling)


ReaderDep = Annotated[Reader, Depends(reader)]


def director(reader: ReaderDep) -> Reader:
    if reader.role != "director":
        raise Forbidden("only the session's director may do this", {"reason": "role"})
    return reader


DirectorDep = Annotated[Reader, Depends(director)]


def audience_token(secret: str, session_id: str, epoch: int, expires_at: int) -> str:
    message = f"audience:{session_id}:{epoch}:{expires_at}"
    mac = hmac.new(secret.encode(), message.encode(), hashlib.sha256)
    return f"{expires_at}.{epoch}.{mac.hexdigest()[:32]}"


def check_audience(secret: str, session_id: str, token: str, epoch: int | None) -> Reader:
    """`token` against the session's audience generation now (None: no such session)."""
    expires, _, rest = token.partition(".")
    made_in, _, _mac = rest.partition(".")
    numbers = (expires, made_in)
    if not all(n.isdigit() and len(n) <= 12 for n in numbers) or epoch is None:
        raise Forbidden("this audience link is not valid", {"reason": "token_invalid"})
    expected = audience_token(secret, session_id, int(made_in), int(expires))
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise Forbidden("this audience link is not valid", {"reason": "token_invalid"})
    if int(made_in) != epoch:
        raise Forbidden("this audience link was revoked", {"reason": "token_revoked"})
    if int(expires) < time.time():
        raise Forbidden("this audience link has expired", {"reason": "token_expired"})
    return Reader("audience", f"audience:{token}")


Token = Annotated[str, Path(min_length=1, max_length=64)]


async def audience(session_id: SessionId, token: Token, backend: BackendDep, db: DbDep) -> Reader:
    epoch = await backend.audience.get(db, session_id)
    return check_audience(backend.settings.jwt_secret, session_id, token, epoch)


AudienceDep = Annotated[Reader, Depends(audience)]
