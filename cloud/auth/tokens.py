"""Signed tokens: JWT access and participant tokens, opaque refresh tokens, invite tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

ISSUER = "returnfeed"
ALGORITHM = "HS256"
REFRESH_PREFIX = "rt_"


class TokenError(Exception):
    """A token is malformed, forged, expired or of the wrong kind."""


class TokenExpired(TokenError):
    """A token that was good, and whose time is up."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    family_id: str


@dataclass(frozen=True, slots=True)
class ParticipantClaims:
    participant_id: str
    session_id: str
    role: str


def new_id(nbytes: int = 12) -> str:
    return secrets.token_urlsafe(nbytes)


class TokenSigner:
    """Owns the signing secret; nothing else in the backend sees it."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return "TokenSigner(<secret>)"

    def _encode(self, claims: dict[str, Any], now: datetime, ttl: timedelta) -> str:
        payload = {**claims, "iss": ISSUER, "iat": int(now.timestamp())}
        payload["exp"] = int((now + ttl).timestamp())
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "sub", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("token has expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("token is invalid") from exc
        if claims.get("typ") != typ:
            raise TokenError(f"expected a {typ} token")
        return claims

    def access_token(self, claims: AccessClaims, now: datetime, ttl: timedelta) -> str:
        body = {"sub": claims.user_id, "fam": claims.family_id, "typ": "access"}
        return self._encode(body, now, ttl)

    def read_access_token(self, token: str) -> AccessClaims:
        claims = self._decode(token, "access")
        family = claims.get("fam")
        if not isinstance(family, str):
            raise TokenError("token is invalid")
        return AccessClaims(user_id=str(claims["sub"]), family_id=family)

    def participant_token(self, claims: ParticipantClaims, now: datetime, ttl: timedelta) -> str:
        body = {
            "sub": claims.participant_id,
            "sid": claims.session_id,
            "role": claims.role,
            "typ": "participant",
        }
        return self._encode(body, now, ttl)

    def read_participant_token(self, token: str) -> ParticipantClaims:
        claims = self._decode(token, "participant")
        sid, role = claims.get("sid"), claims.get("role")
        if not isinstance(sid, str) or not isinstance(role, str):
            raise TokenError("token is invalid")
        return ParticipantClaims(participant_id=str(claims["sub"]), session_id=sid, role=role)

    def invite_token(self, invite_id: str) -> str:
        """Short enough for a phone to scan as a QR code; the database holds role and expiry."""
        return f"{invite_id}.{self._invite_mac(invite_id)}"

    def read_invite_token(self, token: str) -> str:
        invite_id, dot, mac = token.partition(".")
        if not dot or not invite_id or len(token) > 128:
            raise TokenError("invite token is invalid")
        # Bytes, because compare_digest refuses non-ASCII str and tokens come from anyone.
        if not hmac.compare_digest(mac.encode(), self._invite_mac(invite_id).encode()):
            raise TokenError("invite token is invalid")
        return invite_id

    def successor_refresh_token(self, presented: str) -> str:
        """The token a refresh with `presented` rotates to. Derived, not random, so that a
        retry (a lost reply, a concurrent refresh) gets the same one while only hashes are
        stored; without the secret nobody can derive it."""
        digest = hmac.new(self._secret.encode(), b"rotate:" + presented.encode(), hashlib.sha256)
        return REFRESH_PREFIX + _b64(digest.digest())

    def _invite_mac(self, invite_id: str) -> str:
        digest = hmac.new(self._secret.encode(), b"invite:" + invite_id.encode(), hashlib.sha256)
        return _b64(digest.digest()[:16])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_refresh_token() -> str:
    """The first token of a login; each rotation derives the next (`successor_refresh_token`)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
