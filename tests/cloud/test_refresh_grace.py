"""Refresh rotation's grace window, against a real backend: a lost reply, concurrent
refreshes, and reuse after the window (which still ends the login)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.api import bearer, register
from tests.support.cloud import RELAXED_RATES, CloudServer

GRACE_S = 1.0


@pytest.fixture(scope="module")
def short_grace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    work = tmp_path_factory.mktemp("cloud-short-grace")
    flags = [*RELAXED_RATES, "--refresh-grace-s", str(int(GRACE_S))]
    server = CloudServer(work, f"sqlite:///{work / 'returnfeed.db'}", flags)
    yield server
    server.stop()


def _refresh(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/api/auth/refresh", json={"refresh_token": token})


def test_a_lost_reply_is_retried_with_the_old_token(client: httpx.Client) -> None:
    d = register(client)
    lost = _refresh(client, d.refresh)  # it reached the server; the app never saw the reply
    assert lost.status_code == 200, lost.text

    retry = _refresh(client, d.refresh)
    assert retry.status_code == 200, retry.text
    body = retry.json()
    assert body["refresh_token"] == lost.json()["refresh_token"] != d.refresh
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "refresh_expires_in",
    }
    assert 0 < body["refresh_expires_in"] <= 7 * 24 * 3600
    assert client.get("/api/auth/me", headers=bearer(body["access_token"])).status_code == 200

    # The chain goes on from the shared successor, to a new one.
    onward = _refresh(client, body["refresh_token"])
    assert onward.status_code == 200, onward.text
    assert onward.json()["refresh_token"] not in (d.refresh, body["refresh_token"])
    assert client.get("/api/auth/me", headers=bearer(onward.json()["access_token"])).is_success


async def _together(base_url: str, token: str, count: int) -> list[httpx.Response]:
    # One connection each, so the backend has them all in flight at once.
    clients = [httpx.AsyncClient(base_url=base_url, timeout=20) for _ in range(count)]
    try:
        return await asyncio.gather(
            *(c.post("/api/auth/refresh", json={"refresh_token": token}) for c in clients)
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def test_concurrent_refreshes_with_one_token_share_one_successor(
    client: httpx.Client, cloud: CloudServer
) -> None:
    """Eight refreshes with one token at once (a restarted app's links all refreshing): one
    rotates it, the others are inside the window; nobody's login is revoked."""
    d = register(client)
    replies = asyncio.run(_together(cloud.base_url, d.refresh, 8))
    assert [r.status_code for r in replies] == [200] * 8, [r.text for r in replies]
    successors = {r.json()["refresh_token"] for r in replies}
    assert len(successors) == 1 and d.refresh not in successors
    for r in replies:
        assert client.get("/api/auth/me", headers=bearer(r.json()["access_token"])).is_success

    # The successor was stored exactly once and rotates like any other token.
    onward = _refresh(client, successors.pop())
    assert onward.status_code == 200, onward.text
    assert client.get("/api/auth/me", headers=bearer(onward.json()["access_token"])).is_success
    assert _refresh(client, onward.json()["refresh_token"]).status_code == 200


def test_reuse_after_the_grace_window_still_revokes(short_grace: CloudServer) -> None:
    with short_grace.client() as client:
        d = register(client)
        first = _refresh(client, d.refresh)
        assert first.status_code == 200, first.text
        within = _refresh(client, d.refresh)
        assert within.status_code == 200, "inside the window it is a retry"
        assert within.json()["refresh_token"] == first.json()["refresh_token"]

        time.sleep(GRACE_S + 0.3)  # the window itself is what passes here
        late = _refresh(client, d.refresh)
        assert late.status_code == 401
        assert late.json()["error"]["details"]["reason"] == "refresh_token_reused"
        # The whole chain is gone: the successor, and the access tokens issued with it.
        assert _refresh(client, first.json()["refresh_token"]).status_code == 401
        me = client.get("/api/auth/me", headers=bearer(first.json()["access_token"]))
        assert me.status_code == 401
