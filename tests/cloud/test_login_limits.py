"""Login limits per account (docs/api.md, "Login limits"): guessing one account's password
is stopped from each address and slowed across all, while its owner, from an address that
has not failed, still logs in. X-Forwarded-For counts only from a configured proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import register
from tests.support.cloud import CloudServer

PAIR = 3  # failures per account from one address
TOTAL = 5  # failures per account from all addresses


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    tmp = tmp_path_factory.mktemp("login-limits")
    # The test is the trusted proxy: it names each request's client address.
    args = ["--login-rate", "1000/60", "--register-rate", "1000/60", "--redeem-rate", "1000/60"]
    args += ["--login-account-rate", f"{PAIR}/600", "--login-account-total-rate", f"{TOTAL}/600"]
    args += ["--forwarded-allow-ips", "127.0.0.1"]
    server = CloudServer(tmp, f"sqlite:///{tmp / 'db.sqlite'}", args)
    yield server
    server.stop()


def _login(c: httpx.Client, email: str, password: str, address: str) -> httpx.Response:
    return c.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


def test_an_attacker_cannot_lock_the_owner_out(guarded: CloudServer) -> None:
    with guarded.client() as c:
        owner = register(c)
        right, wrong = owner.password, "not the password"
        # From one address: PAIR failures, then that address may not try this account at
        # all, the right password included.
        for _ in range(PAIR):
            assert _login(c, owner.email, wrong, "198.51.100.1").status_code == 401
        r = _login(c, owner.email, right, "198.51.100.1")
        assert r.status_code == 429, r.text
        assert "this account from this address" in r.json()["error"]["message"]
        assert int(r.headers["retry-after"]) > 0
        # ... while the owner, elsewhere, logs in; so does another account from there.
        assert _login(c, owner.email, right, "203.0.113.7").status_code == 200
        other = register(c)
        assert _login(c, other.email, other.password, "198.51.100.1").status_code == 200
        # Failures from more addresses put the account over its total: an address that has
        # failed on it may not try again, one that has not (the owner's) still may.
        assert _login(c, owner.email, wrong, "198.51.100.2").status_code == 401
        assert _login(c, owner.email, wrong, "198.51.100.3").status_code == 401  # total 5
        r = _login(c, owner.email, right, "198.51.100.2")
        assert r.status_code == 429 and "failed logins for this account" in r.text, r.text
        assert _login(c, owner.email, right, "203.0.113.7").status_code == 200
        assert _login(c, owner.email, right, "203.0.113.8").status_code == 200
    assert guarded.alive()


def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", ["--login-rate", "2/60"])
    try:
        with server.client() as c:
            for n in range(2):
                assert _login(c, "x@example.com", "bad", f"192.0.2.{n}").status_code == 401
            # A client naming yet another address is still the same client.
            assert _login(c, "x@example.com", "bad", "192.0.2.99").status_code == 429
    finally:
        server.stop()
