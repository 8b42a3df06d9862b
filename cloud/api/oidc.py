"""Sign in through an OpenID Connect provider, for an app on this machine's loopback.

The app (RFC 8252) opens GET /api/auth/oidc/{provider}/start in the system browser with its
loopback redirect_uri, its own state and a PKCE code_challenge. The backend runs the code
flow with the provider (its own state, nonce and PKCE), links the account on /callback,
and sends the browser to the app with a one-time code that the app exchanges, with its
code_verifier, at POST /api/auth/oidc/token for the same token pair a password login gives.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.api.accounts import _new_login
from cloud.api.schemas import TokensOut
from cloud.auth.deps import BackendDep, DbDep
from cloud.auth.oidc import OidcClient, OidcError
from cloud.auth.oidc_accounts import account_for
from cloud.auth.oidc_config import OidcProviderConfig
from cloud.db.models import OidcLogin
from cloud.db.types import utcnow
from cloud.errors import ApiError, NotFound

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth/oidc", tags=["accounts"])

CALLBACK_PATH = "/api/auth/oidc/callback"
LOGIN_TTL = timedelta(minutes=10)  # from the app's start to the provider's callback
APP_CODE_TTL = timedelta(seconds=60)  # from the callback to the app's exchange
PKCE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


class OidcRefused(ApiError):
    code = "oidc_refused"


class ProviderUnavailable(ApiError):
    status = 502
    code = "oidc_provider_unavailable"


class OidcProviders:
    """The configured providers' clients, sharing one HTTP client."""

    def __init__(self, configs: tuple[OidcProviderConfig, ...]) -> None:
        self._http = httpx.AsyncClient(timeout=10.0)
        self.clients: Mapping[str, OidcClient] = {
            c.name: OidcClient(c, self._http) for c in configs
        }

    async def aclose(self) -> None:
        await self._http.aclose()


def _providers(request: Request) -> OidcProviders:
    providers: OidcProviders = request.app.state.oidc
    return providers


ProvidersDep = Annotated[OidcProviders, Depends(_providers)]


class ProvidersOut(BaseModel):
    providers: list[str]


class ExchangeIn(BaseModel):
    code: str = Field(min_length=1, max_length=128)
    code_verifier: str = Field(min_length=43, max_length=128)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _loopback_redirect(uri: str) -> str:
    """RFC 8252 7.3: http to a loopback IP literal, any port; nothing else gets a code."""
    parts = urlsplit(uri)
    if (
        parts.scheme != "http"
        or parts.hostname not in ("127.0.0.1", "::1")
        or parts.port is None
        or parts.fragment
        or len(uri) > 512
    ):
        raise OidcRefused(
            "redirect_uri must be http://127.0.0.1:PORT/... or http://[::1]:PORT/... "
            "(an app's loopback listener, RFC 8252)",
            {"field": "redirect_uri"},
        )
    return uri


def _to_app(login: OidcLogin, **params: str) -> RedirectResponse:
    separator = "&" if "?" in login.app_redirect_uri else "?"
    query = urlencode({**params, "state": login.app_state})
    return RedirectResponse(f"{login.app_redirect_uri}{separator}{query}", status_code=303)


@router.get("/providers", response_model=ProvidersOut)
async def providers(oidc: ProvidersDep) -> ProvidersOut:
    return ProvidersOut(providers=sorted(oidc.clients))


@router.get("/{provider}/start")
async def start(
    provider: str,
    backend: BackendDep,
    db: DbDep,
    oidc: ProvidersDep,
    redirect_uri: Annotated[str, Query(max_length=512)],
    state: Annotated[str, Query(min_length=8, max_length=128)],
    code_challenge: Annotated[str, Query()],
    code_challenge_method: Annotated[str, Query()] = "S256",
) -> RedirectResponse:
    client = oidc.clients.get(provider)
    if client is None:
        raise NotFound(f"no OIDC provider {provider!r} is configured", {"field": "provider"})
    _loopback_redirect(redirect_uri)
    if code_challenge_method != "S256" or not PKCE.fullmatch(code_challenge):
        raise OidcRefused(
            "a PKCE code_challenge with code_challenge_method S256 is required",
            {"field": "code_challenge"},
        )
    try:
        request = await client.request(backend.settings.base_url + CALLBACK_PATH)
    except OidcError as exc:
        raise ProviderUnavailable(str(exc), {"reason": exc.code}) from exc
    now = utcnow()
    await db.execute(delete(OidcLogin).where(OidcLogin.expires_at < now))
    db.add(
        OidcLogin(
            state_hash=_hash(request.state),
            provider=provider,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            app_redirect_uri=redirect_uri,
            app_state=state,
            app_code_challenge=code_challenge,
            created_at=now,
            expires_at=now + LOGIN_TTL,
        )
    )
    await db.commit()
    return RedirectResponse(request.url, status_code=303)


async def _claim_state(db: AsyncSession, state: str) -> OidcLogin:
    """The login `state` names, claimed by this callback: a state works once."""
    now = utcnow()
    claimed = await db.execute(
        update(OidcLogin)
        .where(
            OidcLogin.state_hash == _hash(state),
            OidcLogin.called_back_at.is_(None),
            OidcLogin.expires_at > now,
        )
        .values(called_back_at=now)
        .execution_options(synchronize_session=False)
    )
    login = await db.get(OidcLogin, _hash(state)) if getattr(claimed, "rowcount", 0) else None
    if login is None:
        raise OidcRefused(
            "this sign-in is unknown, expired or finished already; start it again in the app",
            {"reason": "state"},
        )
    await db.commit()
    return login


@router.get("/callback")
async def callback(
    backend: BackendDep,
    db: DbDep,
    oidc: ProvidersDep,
    state: Annotated[str, Query(max_length=256)] = "",
    code: Annotated[str, Query(max_length=2048)] = "",
    error: Annotated[str, Query(max_length=256)] = "",
) -> RedirectResponse:
    login = await _claim_state(db, state)
    client = oidc.clients.get(login.provider)
    try:
        if client is None:
            raise OidcError("provider_gone", f"{login.provider} is no longer configured")
        if error or not code:
            raise OidcError("provider_error", f"{login.provider} did not sign you in ({error})")
        redirect_uri = backend.settings.base_url + CALLBACK_PATH
        id_token = await client.exchange(code, redirect_uri, login.code_verifier)
        identity = await client.verify(id_token, login.nonce)
        user_id = await account_for(db, login.provider, identity)
        app_code = generate_token(43)
        login.code_hash = _hash(app_code)
        login.user_id = user_id
        await db.commit()
    except (OidcError, IntegrityError) as exc:
        await db.rollback()
        reason = exc.code if isinstance(exc, OidcError) else "conflict"
        backend.metrics.auth_failures.labels(f"oidc_{reason}").inc()
        log.info("OIDC login through %s refused: %s", login.provider, reason)
        message = str(exc) if isinstance(exc, OidcError) else "sign in again"
        return _to_app(login, error=reason, error_description=message)
    return _to_app(login, code=app_code)


async def _claim_code(db: AsyncSession, body: ExchangeIn) -> str:
    now = utcnow()
    row = await db.scalar(select(OidcLogin).where(OidcLogin.code_hash == _hash(body.code)))
    refused = OidcRefused(
        "this sign-in code is unknown, expired or used already; sign in again",
        {"reason": "code"},
    )
    if row is None or row.user_id is None or row.called_back_at is None:
        raise refused
    if row.called_back_at + APP_CODE_TTL < now:
        raise refused
    if create_s256_code_challenge(body.code_verifier) != row.app_code_challenge:
        raise OidcRefused("code_verifier does not match the code_challenge", {"reason": "pkce"})
    claimed = await db.execute(
        update(OidcLogin)
        .where(OidcLogin.state_hash == row.state_hash, OidcLogin.exchanged_at.is_(None))
        .values(exchanged_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise refused
    return row.user_id


@router.post("/token", response_model=TokensOut)
async def token(body: ExchangeIn, backend: BackendDep, db: DbDep) -> TokensOut:
    user_id = await _claim_code(db, body)
    tokens = await _new_login(backend, db, user_id)
    await db.commit()
    return tokens
