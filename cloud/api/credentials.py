"""New ids and SRT credentials, and when a publish token is due for renewal."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from cloud.db.types import utcnow

RENEW_WITHIN = 0.25  # of the TTL: a token this close to expiry is renewed when read

_ALNUM = string.ascii_letters + string.digits


def alnum(length: int) -> str:
    # Letters and digits only: these go into command lines (`--session ID`), where an id
    # starting with "-" reads as a flag, and into SRT streamids and URLs.
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def new_passphrase() -> str:
    # 43 chars of base64url: inside SRT's 10..79 and ~256 bits, matching AES-256.
    return secrets.token_urlsafe(32)


def new_publish_token() -> str:
    return alnum(32)  # ~190 bits


def token_expiry(ttl_s: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=ttl_s)


def renewal_due(expires_at: datetime, ttl_s: int, now: datetime) -> bool:
    """Whether a token read now should be renewed first: expired, or in its last quarter."""
    return expires_at - now <= timedelta(seconds=ttl_s * RENEW_WITHIN)
