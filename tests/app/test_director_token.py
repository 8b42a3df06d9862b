"""`returnfeed send --cloud` keeps its director login for a whole show (app/director_token.py).

Against the real backend with 4 s access tokens: the token is renewed as it goes stale, a
login that ended is signed in again, a wrong password stops for good, and the sender's
relay link (KeyframeLink) outlives many access tokens and a backend restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.director_token import DirectorToken
from app.keyframes import KeyframeLink, relay_url
from app.session_link.cloud_api import NotLoggedIn
from tests.app.conftest import sqlite_backend
from tests.support.api import Director, bearer, create_session, register
from tests.support.cloud import CloudServer

ACCESS_TTL_S = 4


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    env = {"RETURNFEED_ACCESS_TTL_S": str(ACCESS_TTL_S)}
    with sqlite_backend(tmp_path, env) as server:
        yield server


def works(server: CloudServer, access: str) -> bool:
    with server.client() as http:
        return http.get("/api/auth/me", headers=bearer(access)).status_code == 200


def test_the_token_is_renewed_and_a_login_that_ended_is_signed_in_again(
    server: CloudServer,
) -> None:
    with server.client() as http:
        director = register(http)
    token = DirectorToken(server.base_url, email=director.email, password=director.password)
    first = token.get()
    assert works(server, first) and token.get() == first  # fresh: no new request
    time.sleep(ACCESS_TTL_S)  # the first access token has expired by now
    assert not works(server, first)
    second = token.get()
    assert second != first and works(server, second)

    # The login ends elsewhere (logout revokes the whole chain): sign in again.
    refresh = token._tokens.refresh if token._tokens else ""
    with httpx.Client(base_url=server.base_url) as http:
        assert http.post("/api/auth/logout", json={"refresh_token": refresh}).status_code == 204
    time.sleep(ACCESS_TTL_S)
    third = token.get()
    assert works(server, third)


def test_a_wrong_password_is_refused_for_good(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
    token = DirectorToken(server.base_url, email=director.email, password="not-the-password")
    with pytest.raises(NotLoggedIn):
        token.get()


class NoEncoder:
    """The link's keyframe target; this test watches only the link itself."""

    def request_keyframe(self, layer: str | None = None) -> None:
        pass


def test_the_senders_relay_link_outlives_its_access_tokens_and_a_restart(
    server: CloudServer,
) -> None:
    with server.client() as http:
        director: Director = register(http)
        session = create_session(http, director, name="All day send", cameras=1)
    token = DirectorToken(server.base_url, email=director.email, password=director.password)
    notes: list[str] = []
    link = KeyframeLink(
        relay_url(server.base_url, session["id"]), token.source(), NoEncoder(), notes.append
    )
    link.start()
    try:
        assert link.connected.wait(20)
        time.sleep(ACCESS_TTL_S + 1)  # every token it held has expired
        server.stop()
        deadline = time.monotonic() + 20
        while link.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not link.connected.is_set()
        server.start()
        assert link.connected.wait(20)
        assert not [n for n in notes if "refused" in n], notes
    finally:
        link.stop()
