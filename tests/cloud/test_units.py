"""Small pieces that need no server."""

from __future__ import annotations

import pytest

from cloud.config import ConfigError, RateLimit, normalize_database_url
from cloud.errors import TooManyRequests
from cloud.ratelimit import RateLimiter


def test_rate_limit_parse() -> None:
    assert RateLimit.parse("10/60") == RateLimit(10, 60.0)
    for bad in ("10", "a/b", "0/60", "5/-1", ""):
        with pytest.raises(ConfigError):
            RateLimit.parse(bad)


def test_database_urls() -> None:
    assert normalize_database_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalize_database_url("postgres://h/db") == "postgresql+asyncpg://h/db"
    assert normalize_database_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    with pytest.raises(ConfigError, match="unsupported"):
        normalize_database_url("mysql://x")


def test_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter("login", RateLimit(2, 10), clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(TooManyRequests):
        limiter.check("a")
    limiter.check("b")
    now[0] = 10.5
    limiter.check("a")
