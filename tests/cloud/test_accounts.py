"""Accounts against a real backend: register, login, refresh rotation, reuse, logout."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.conftest import database_url
from tests.support.api import bearer, register
from tests.support.cloud import RELAXED_RATES, CloudServer


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def no_grace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A backend where any second use of a refresh token ends the login at once
    (--refresh-grace-s 0); the grace window has tests of its own (test_refresh_grace.py)."""
    url = database_url(request.param, request, "rf_no_grace", tmp_path_factory)
    work = tmp_path_factory.mktemp(f"cloud-no-grace-{request.param}")
    server = CloudServer(work, url, [*RELAXED_RATES, "--refresh-grace-s", "0"])
    with server.client() as c:
        yield c
    server.stop()


def test_register_login_me(client: httpx.Client) -> None:
    d = register(client, name="김감독 🎬")
    me = client.get("/api/auth/me", headers=d.auth)
    assert me.status_code == 200
    assert me.json()["display_name"] == "김감독 🎬"
    assert me.json()["email"] == d.email

    login = client.post("/api/auth/login", json={"email": d.email.upper(), "password": d.password})
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_expires_in"] == 7 * 24 * 3600
    assert client.get("/api/auth/me", headers=bearer(body["access_token"])).status_code == 200


def test_duplicate_email_is_a_conflict(client: httpx.Client) -> None:
    d = register(client)
    r = client.post(
        "/api/auth/register",
        json={"email": d.email.upper(), "password": "another pass", "display_name": "x"},
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"


def test_wrong_password_and_unknown_email_look_the_same(client: httpx.Client) -> None:
    d = register(client)
    wrong = client.post("/api/auth/login", json={"email": d.email, "password": "nope nope"})
    unknown = client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_refresh_rotates_and_reuse_revokes_the_family(no_grace: httpx.Client) -> None:
    client = no_grace
    d = register(client)
    first = client.post("/api/auth/refresh", json={"refresh_token": d.refresh})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != d.refresh

    # The old token again: an attacker replaying it. The whole chain must die.
    replay = client.post("/api/auth/refresh", json={"refresh_token": d.refresh})
    assert replay.status_code == 401
    assert replay.json()["error"]["details"]["reason"] == "refresh_token_reused"

    assert (
        client.post(
            "/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
        ).status_code
        == 401
    )
    assert client.get("/api/auth/me", headers=bearer(rotated["access_token"])).status_code == 401
    assert client.get("/api/auth/me", headers=d.auth).status_code == 401

    # Other logins of the same account are untouched, and a new login works.
    again = client.post("/api/auth/login", json={"email": d.email, "password": d.password})
    assert again.status_code == 200


def test_reuse_revokes_only_that_login(no_grace: httpx.Client) -> None:
    client = no_grace
    d = register(client)
    other = client.post("/api/auth/login", json={"email": d.email, "password": d.password}).json()
    client.post("/api/auth/refresh", json={"refresh_token": d.refresh})
    client.post("/api/auth/refresh", json={"refresh_token": d.refresh})
    assert client.get("/api/auth/me", headers=bearer(other["access_token"])).status_code == 200


def test_logout_ends_access_and_refresh(client: httpx.Client) -> None:
    d = register(client)
    r = client.post("/api/auth/logout", json={"refresh_token": d.refresh})
    assert r.status_code == 204
    assert client.get("/api/auth/me", headers=d.auth).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": d.refresh}).status_code == 401


def _secret(cloud: CloudServer) -> str:
    return (cloud.data_dir / "jwt-secret").read_text().strip()


def test_forged_and_expired_tokens_are_refused(client: httpx.Client, cloud: CloudServer) -> None:
    d = register(client)
    claims = jwt.decode(d.access, options={"verify_signature": False})
    now = int(time.time())

    forged = jwt.encode(claims, "not-the-secret" * 4, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    expired = jwt.encode(
        {**claims, "iat": now - 3600, "exp": now - 60}, _secret(cloud), algorithm="HS256"
    )
    for token, words in (
        (forged, "invalid"),
        (unsigned, "invalid"),
        (expired, "expired"),
        ("garbage", "invalid"),
        (d.access[:-3] + "abc", "invalid"),
    ):
        r = client.get("/api/auth/me", headers=bearer(token))
        assert r.status_code == 401, token
        assert words in r.json()["error"]["message"]
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401
    # A refresh token is not an access token.
    assert client.get("/api/auth/me", headers=bearer(d.refresh)).status_code == 401
