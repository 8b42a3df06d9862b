"""One OpenID Connect provider as a relying party sees it: discovery, the authorization
request (code flow, PKCE S256, state, nonce), the code exchange, and the ID token checked
against the provider's JWKS. Authlib and its joserfc do the JOSE work and the claim rules."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from cloud.auth.oidc_config import OidcProviderConfig

# Clocks of the provider and of this machine may differ by this much.
LEEWAY_S = 60
SCOPES = "openid email profile"


class OidcError(Exception):
    """A login through a provider failed; `code` names why for the app (docs/login.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


@dataclass(frozen=True, slots=True)
class Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Request:
    """What the callback needs to finish a login; the backend stores it under `state`."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class OidcClient:
    def __init__(self, config: OidcProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http
        self._metadata: Metadata | None = None
        self._keys: KeySet | None = None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(
                "provider_unreachable", f"{self.config.name}: cannot read its {what} ({url})"
            ) from exc
        if not isinstance(body, dict):
            raise OidcError("provider_error", f"{self.config.name}: its {what} is not an object")
        return body

    async def metadata(self) -> Metadata:
        if self._metadata is None:
            doc = await self._get_json(self.config.discovery_url, "discovery document")
            # OpenID Connect Discovery 4.3: the document must name the issuer we asked.
            if doc.get("issuer") != self.config.issuer:
                raise OidcError(
                    "wrong_issuer",
                    f"{self.config.name}: discovery names issuer {doc.get('issuer')!r}, "
                    f"configured {self.config.issuer!r}",
                )
            try:
                self._metadata = Metadata(
                    authorization_endpoint=str(doc["authorization_endpoint"]),
                    token_endpoint=str(doc["token_endpoint"]),
                    jwks_uri=str(doc["jwks_uri"]),
                    algorithms=tuple(doc.get("id_token_signing_alg_values_supported") or ["RS256"]),
                )
            except KeyError as exc:
                raise OidcError(
                    "provider_error", f"{self.config.name}: discovery lacks {exc.args[0]}"
                ) from exc
        return self._metadata

    async def _key_set(self, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            body = await self._get_json(meta.jwks_uri, "signing keys (JWKS)")
            try:
                self._keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError) as exc:
                raise OidcError("provider_error", f"{self.config.name}: bad JWKS") from exc
        return self._keys

    async def request(self, redirect_uri: str) -> Request:
        meta = await self.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPES,
                "state": state,
                "nonce": nonce,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return Request(f"{meta.authorization_endpoint}{separator}{query}", state, nonce, verifier)

    async def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> str:
        """The ID token for `code`; the provider refuses a code used before."""
        meta = await self.metadata()
        try:
            response = await self._http.post(
                meta.token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=(self.config.client_id, self.config.client_secret),
            )
        except httpx.HTTPError as exc:
            raise OidcError(
                "provider_unreachable", f"{self.config.name}: its token endpoint is unreachable"
            ) from exc
        body = _json_or_empty(response)
        if response.status_code != 200:
            error = body.get("error", f"HTTP {response.status_code}")
            raise OidcError("code_refused", f"{self.config.name} refused the login code ({error})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("provider_error", f"{self.config.name} sent no ID token")
        return id_token

    async def verify(self, id_token: str, nonce: str, now: float | None = None) -> Identity:
        meta = await self.metadata()
        registry = JWSRegistry(algorithms=list(meta.algorithms), strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(False), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                token = jwt.decode(id_token, await self._key_set(True), registry=registry)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "value": self.config.issuer},
                    "aud": {"essential": True, "value": self.config.client_id},
                },
                {"nonce": nonce, "client_id": self.config.client_id},
            )
            claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY_S)
        except ExpiredTokenError as exc:
            raise OidcError("expired", f"{self.config.name}: the ID token has expired") from exc
        except (InvalidClaimError, MissingClaimError) as exc:
            claim = getattr(exc, "claim", "")
            code = {"iss": "wrong_issuer", "aud": "wrong_audience", "nonce": "wrong_nonce"}
            raise OidcError(
                code.get(claim, "invalid_id_token"),
                f"{self.config.name}: the ID token's {claim or 'claims'} is wrong or missing",
            ) from exc
        except JoseError as exc:
            raise OidcError(
                "invalid_id_token", f"{self.config.name}: the ID token is invalid ({exc.error})"
            ) from exc
        email = claims.get("email")
        name = claims.get("name")
        return Identity(
            subject=str(claims["sub"]),
            email=email.strip().lower() if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
            name=name if isinstance(name, str) else None,
        )


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
