"""Request dependencies: the database session and who is calling, by token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.membership import MembershipEnded, member
from cloud.auth.tokens import TokenError, TokenExpired
from cloud.backend import Backend
from cloud.db.models import LiveSession, Participant, TokenFamily, User
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


def is_access_token(backend: Backend, token: str) -> bool:
    """A login's access token (a director), rather than a participant's."""
    try:
        backend.signer.read_access_token(token)
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
    """A participant that is still a member of its session (cloud/auth/membership.py)."""

    participant: Participant
    session: LiveSession


async def current_participant(backend: BackendDep, db: DbDep, credentials: BearerDep) -> Caller:
    token = _bearer_token(credentials)
    try:
        claims = backend.signer.read_participant_token(token)
    except TokenError as exc:
        backend.metrics.auth_failures.labels("bad_participant_token").inc()
        # A page tells the two apart: an expired token sends it back to its invite link.
        reason = "token_expired" if isinstance(exc, TokenExpired) else "token_invalid"
        raise Unauthorized(str(exc), {"reason": reason}) from exc
    try:
        joined = await member(db, claims)
    except MembershipEnded as exc:
        raise Unauthorized(exc.message, {"reason": exc.lapse.value}) from exc
    return Caller(participant=joined.participant, session=joined.session)


CallerDep = Annotated[Caller, Depends(current_participant)]
