"""Who may read a session's recordings and HLS: its director (the owner's login), its
camera and viewer links (participant tokens, while the session lives), and whoever holds
an audience link the director made (HLS only; an HMAC of the session and an expiry)."""

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
from cloud.record.recorder import Recorder

READ_ROLES = ("director", "camera", "viewer")
SessionId = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


@dataclass(frozen=True, slots=True)
class Reader:
    role: str  # director, camera, viewer or audience
    key: str  # one reader, for the DVR viewer count


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
    return Reader(caller.participant.role, f"participant:{caller.participant.id}")


ReaderDep = Annotated[Reader, Depends(reader)]


def director(reader: ReaderDep) -> Reader:
    if reader.role != "director":
        raise Forbidden("only the session's director may do this", {"reason": "role"})
    return reader


DirectorDep = Annotated[Reader, Depends(director)]


def audience_token(secret: str, session_id: str, expires_at: int) -> str:
    mac = hmac.new(secret.encode(), f"audience:{session_id}:{expires_at}".encode(), hashlib.sha256)
    return f"{expires_at}.{mac.hexdigest()[:32]}"


def check_audience(secret: str, session_id: str, token: str) -> Reader:
    expires, _, _mac = token.partition(".")
    if not expires.isdigit() or len(expires) > 12:
        raise Forbidden("this audience link is not valid", {"reason": "token_invalid"})
    expected = audience_token(secret, session_id, int(expires))
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise Forbidden("this audience link is not valid", {"reason": "token_invalid"})
    if int(expires) < time.time():
        raise Forbidden("this audience link has expired", {"reason": "token_expired"})
    return Reader("audience", f"audience:{token}")
