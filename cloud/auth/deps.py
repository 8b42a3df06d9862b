"""Request dependencies: the database session and who is calling, by token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.tokens import TokenError
from cloud.backend import Backend
from cloud.db.models import Invite, LiveSession, Participant, TokenFamily, User
from cloud.db.types import utcnow
from cloud.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Access token, or a participant token")


def get_backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(get_backend)]


async def get_db(backend: BackendDep) -> AsyncIterator[AsyncSession]:
    async with backend.db() as db:
        yield db


DbDep = Annotated[AsyncSession, Depends(get_db)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("an Authorization: Bearer token is required")
    return credentials.credentials


def _is_participant_token(backend: Backend, token: str) -> bool:
    try:
        backend.signer.read_participant_token(token)
    except TokenError:
        return False
    return True


async def current_user(backend: BackendDep, db: DbDep, credentials: BearerDep) -> User:
    token = _bearer_token(credentials)
    try:
        claims = backend.signer.read_access_token(token)
    except TokenError as exc:
        if _is_participant_token(backend, token):
            raise Forbidden(
                "this endpoint is for the session's director; an invite grants less",
                {"reason": "wrong_role"},
            ) from exc
        backend.metrics.auth_failures.labels("bad_access_token").inc()
        raise Unauthorized(str(exc)) from exc
    family = await db.get(TokenFamily, claims.family_id)
    if family is None or family.revoked_at is not None or family.user_id != claims.user_id:
        raise Unauthorized("this login has ended; log in again")
    user = await db.get(User, claims.user_id)
    if user is None:
        raise Unauthorized("the account no longer exists")
    return user


UserDep = Annotated[User, Depends(current_user)]


@dataclass(frozen=True, slots=True)
class Caller:
    """A participant whose invite, session and membership are all still valid."""

    participant: Participant
    session: LiveSession


async def current_participant(backend: BackendDep, db: DbDep, credentials: BearerDep) -> Caller:
    token = _bearer_token(credentials)
    try:
        claims = backend.signer.read_participant_token(token)
    except TokenError as exc:
        backend.metrics.auth_failures.labels("bad_participant_token").inc()
        raise Unauthorized(str(exc)) from exc
    participant = await db.get(Participant, claims.participant_id)
    if participant is None or participant.session_id != claims.session_id:
        raise Unauthorized("this participant was removed from the session")
    session = await db.get(LiveSession, claims.session_id)
    if session is None or session.ended_at is not None:
        raise Unauthorized("the session has ended")
    if participant.invite_id is not None:
        invite = await db.get(Invite, participant.invite_id)
        if invite is None or invite.revoked_at is not None or invite.expires_at <= utcnow():
            raise Unauthorized("the invite this participant joined with was revoked or expired")
    return Caller(participant=participant, session=session)


CallerDep = Annotated[Caller, Depends(current_participant)]
