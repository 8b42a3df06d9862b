"""Accounts: register, login, refresh with rotation, a grace window and reuse detection,
logout, me."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
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

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["accounts"])


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, display_name=user.display_name, created_at=user.created_at
    )


def _tokens(
    backend: Backend, family: TokenFamily, refresh: str, refresh_expires_at: datetime
) -> TokensOut:
    """A fresh access token beside `refresh`, which is stored already or by the caller."""
    settings = backend.settings
    now = utcnow()
    access = backend.signer.access_token(
        AccessClaims(user_id=family.user_id, family_id=family.id),
        now,
        timedelta(seconds=settings.access_ttl_s),
    )
    return TokensOut(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.access_ttl_s,
        refresh_expires_in=max(0, round((refresh_expires_at - now).total_seconds())),
    )


async def _new_login(backend: Backend, db: AsyncSession, user_id: str) -> TokensOut:
    """Adds a login and its first refresh token; the caller commits."""
    family = TokenFamily(id=new_id(), user_id=user_id)
    db.add(family)
    await db.flush()
    refresh = new_refresh_token()
    now = utcnow()
    expires_at = now + timedelta(seconds=backend.settings.refresh_ttl_s)
    db.add(
        RefreshToken(
            token_hash=hash_refresh_token(refresh),
            family_id=family.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return _tokens(backend, family, refresh, expires_at)


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
    # The account's id, never its email: logs are shipped and kept where emails must not be.
    log.info("account %s registered", user.id, extra={"account_id": user.id})
    return AccountOut(user=_user_out(user), tokens=tokens)


@router.post("/login", response_model=TokensOut)
async def login(body: LoginIn, request: Request, backend: BackendDep, db: DbDep) -> TokensOut:
    address = client_address(request)
    backend.login_limiter.check(address)
    email = body.email.strip().lower()
    backend.login_guard.check(email, address)  # before the hash: a refused try costs nothing
    user = await db.scalar(select(User).where(User.email == email))
    if not await verify_password(user.password_hash if user else None, body.password):
        backend.metrics.auth_failures.labels("bad_password").inc()
        backend.login_guard.failed(email, address)
        log.info("login refused: wrong email or password", extra={"account_id": user and user.id})
        raise Unauthorized("email or password is wrong")
    assert user is not None
    tokens = await _new_login(backend, db, user.id)
    await db.commit()
    log.info("account %s logged in", user.id, extra={"account_id": user.id})
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
    stored = await db.get(RefreshToken, hash_refresh_token(body.refresh_token))
    if stored is None:
        raise Unauthorized("refresh token is invalid")
    family = await db.get(TokenFamily, stored.family_id)
    if family is None or family.revoked_at is not None:
        raise Unauthorized("this login has ended; log in again")
    if stored.expires_at <= now:
        raise Unauthorized("refresh token has expired; log in again")
    rotated_at, claimed = await _claim(db, stored, now)
    if not claimed and not _within_grace(backend, rotated_at, now):
        await _revoke_family(db, family.id, "refresh_reuse")
        await db.commit()
        backend.metrics.auth_failures.labels("refresh_reuse").inc()
        raise Unauthorized(
            "refresh token was already used; every login of this chain is now revoked",
            {"reason": "refresh_token_reused"},
        )
    if not claimed:
        waited = (now - rotated_at).total_seconds()
        log.info("a refresh token came again %.1f s after its rotation: same successor", waited)
    # Every caller in the window derives the same successor; the row is written once.
    successor = backend.signer.successor_refresh_token(body.refresh_token)
    expires_at = rotated_at + timedelta(seconds=backend.settings.refresh_ttl_s)
    await _store_once(db, successor, family.id, rotated_at, expires_at)
    await db.commit()
    return _tokens(backend, family, successor, expires_at)


async def _claim(db: AsyncSession, stored: RefreshToken, now: datetime) -> tuple[datetime, bool]:
    """When `stored` was rotated, and whether by this request.

    The conditional UPDATE makes rotation atomic: of concurrent refreshes with one token
    exactly one claims it (PostgreSQL blocks the others on the row, SQLite on its write
    lock, until the winner commits); the others then read the winner's time.
    """
    if stored.used_at is None:
        claimed = await db.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == stored.token_hash, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            return now, True
        await db.refresh(stored, ["used_at"])
    if stored.used_at is None:  # cannot happen: nothing clears used_at
        raise Unauthorized("refresh token is invalid")
    return stored.used_at, False


def _within_grace(backend: Backend, rotated_at: datetime, now: datetime) -> bool:
    grace_s = backend.settings.refresh_grace_s
    return grace_s > 0 and now - rotated_at < timedelta(seconds=grace_s)


async def _store_once(
    db: AsyncSession, token: str, family_id: str, created_at: datetime, expires_at: datetime
) -> None:
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await db.execute(
        insert(RefreshToken)
        .values(
            token_hash=hash_refresh_token(token),
            family_id=family_id,
            created_at=created_at,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=[RefreshToken.token_hash])
    )


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
