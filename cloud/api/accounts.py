"""Accounts: register, login, refresh with rotation and reuse detection, logout, me."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.api.schemas import AccountOut, LoginIn, RefreshIn, RegisterIn, TokensOut, UserOut
from cloud.auth.deps import BackendDep, DbDep, UserDep, client_address
from cloud.auth.passwords import hash_password, verify_password
from cloud.auth.tokens import AccessClaims, hash_refresh_token, new_id, new_refresh_token
from cloud.backend import Backend
from cloud.db.models import RefreshToken, TokenFamily, User
from cloud.db.types import utcnow
from cloud.errors import Conflict, Unauthorized

router = APIRouter(prefix="/api/auth", tags=["accounts"])


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, display_name=user.display_name, created_at=user.created_at
    )


async def _issue(backend: Backend, db: AsyncSession, user_id: str, family_id: str) -> TokensOut:
    """Adds a fresh refresh token to the family; the caller commits."""
    settings = backend.settings
    now = utcnow()
    refresh = new_refresh_token()
    db.add(
        RefreshToken(
            token_hash=hash_refresh_token(refresh),
            family_id=family_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_ttl_s),
        )
    )
    access = backend.signer.access_token(
        AccessClaims(user_id=user_id, family_id=family_id),
        now,
        timedelta(seconds=settings.access_ttl_s),
    )
    return TokensOut(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.access_ttl_s,
        refresh_expires_in=settings.refresh_ttl_s,
    )


async def _new_login(backend: Backend, db: AsyncSession, user_id: str) -> TokensOut:
    family = TokenFamily(id=new_id(), user_id=user_id)
    db.add(family)
    await db.flush()
    return await _issue(backend, db, user_id, family.id)


@router.post("/register", status_code=201, response_model=AccountOut)
async def register(
    body: RegisterIn, request: Request, backend: BackendDep, db: DbDep
) -> AccountOut:
    backend.register_limiter.check(client_address(request))
    email = body.email.lower()
    if await db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists", {"field": "email"})
    user = User(
        id=new_id(),
        email=email,
        display_name=body.display_name,
        password_hash=await hash_password(body.password),
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("an account with this email already exists", {"field": "email"}) from exc
    tokens = await _new_login(backend, db, user.id)
    await db.commit()
    return AccountOut(user=_user_out(user), tokens=tokens)


@router.post("/login", response_model=TokensOut)
async def login(body: LoginIn, request: Request, backend: BackendDep, db: DbDep) -> TokensOut:
    backend.login_limiter.check(client_address(request))
    user = await db.scalar(select(User).where(User.email == body.email.strip().lower()))
    if not await verify_password(user.password_hash if user else None, body.password):
        backend.metrics.auth_failures.labels("bad_password").inc()
        raise Unauthorized("email or password is wrong")
    assert user is not None
    tokens = await _new_login(backend, db, user.id)
    await db.commit()
    return tokens


async def _revoke_family(db: AsyncSession, family_id: str, reason: str) -> None:
    await db.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


@router.post("/refresh", response_model=TokensOut)
async def refresh(body: RefreshIn, backend: BackendDep, db: DbDep) -> TokensOut:
    now = utcnow()
    # Marking the token used with a conditional UPDATE makes rotation atomic: of two
    # concurrent refreshes with one token, exactly one wins and the other counts as reuse.
    token_hash = hash_refresh_token(body.refresh_token)
    stored = await db.get(RefreshToken, token_hash)
    if stored is None:
        raise Unauthorized("refresh token is invalid")
    family = await db.get(TokenFamily, stored.family_id)
    if family is None or family.revoked_at is not None:
        raise Unauthorized("this login has ended; log in again")
    if stored.expires_at <= now:
        raise Unauthorized("refresh token has expired; log in again")
    claimed = await db.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        await _revoke_family(db, family.id, "refresh_reuse")
        await db.commit()
        backend.metrics.auth_failures.labels("refresh_reuse").inc()
        raise Unauthorized(
            "refresh token was already used; every login of this chain is now revoked",
            {"reason": "refresh_token_reused"},
        )
    tokens = await _issue(backend, db, family.user_id, family.id)
    await db.commit()
    return tokens


@router.post("/logout", status_code=204)
async def logout(body: RefreshIn, db: DbDep) -> Response:
    stored = await db.get(RefreshToken, hash_refresh_token(body.refresh_token))
    if stored is None:
        raise Unauthorized("refresh token is invalid")
    await _revoke_family(db, stored.family_id, "logout")
    await db.commit()
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
async def me(user: UserDep) -> UserOut:
    return _user_out(user)
