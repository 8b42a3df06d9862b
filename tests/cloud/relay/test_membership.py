"""A phone that joined stays a member after its invite expires, until the director takes it
back: the relay, WHEP and token renewal agree on who is still in (cloud/auth/membership.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tally import Role
from tests.cloud.relay.peers import Show, connect_peer, new_show
from tests.support.api import bearer, redeem
from tests.support.cloud import RELAXED_RATES, CloudServer

INVITE_S = 2


@pytest.fixture(scope="module")
def short_links(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """Invite links that admit new joins for 2 s (--invite-ttl-s), with video served."""
    work = tmp_path_factory.mktemp("relay-short-links")
    flags = [*RELAXED_RATES, "--invite-ttl-s", str(INVITE_S)]
    server = CloudServer(work, f"sqlite:///{work / 'returnfeed.db'}", flags)
    yield server
    assert server.alive(), f"the backend died:\n{server.log_text()[-3000:]}"
    server.stop()


def _renew(c: httpx.Client, token: str) -> httpx.Response:
    return c.post("/api/participant/token", headers=bearer(token))


def _wait_out(show: Show, invite_id: str) -> None:
    """Until the invite's own expiry (the server's clock, which is this machine's) passes."""
    with show.http() as c:
        listed = c.get(f"/api/sessions/{show.session_id}/invites", headers=show.director.auth)
    ends = next(
        datetime.fromisoformat(i["expires_at"]) for i in listed.json() if i["id"] == invite_id
    )
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.2)


async def test_a_phone_outlives_its_expired_invite(short_links: CloudServer) -> None:
    show = new_show(short_links)
    phone = show.join("camera", 1)
    viewer = show.join("viewer")
    _wait_out(show, phone["invite_id"])
    with show.http() as c:
        link = c.get(f"/api/sessions/{show.session_id}/invites", headers=show.director.auth)
        again = redeem(c, next(i["token"] for i in link.json() if i["id"] == phone["invite_id"]))
        assert again.status_code == 410, "the link admits nobody new"
        assert again.json()["error"]["details"]["reason"] == "expired"

        # ...yet the phone that joined reconnects with the token it has, and renews it.
        async with connect_peer(show.url, phone["participant_token"], Role.CAMERA, assign=1):
            pass
        renewed = _renew(c, phone["participant_token"])
        assert renewed.status_code == 200, renewed.text
        fresh = renewed.json()["participant_token"]
        assert fresh != phone["participant_token"]
        async with connect_peer(show.url, fresh, Role.CAMERA, assign=1) as peer:
            assert peer.snapshot is not None
        me = c.get("/api/participant", headers=bearer(fresh)).json()
        assert me["id"] == phone["participant"]["id"] and me["camera_number"] == 1

        # WHEP takes the same rule: the viewer whose link expired still watches.
        status = c.get(
            f"/whep/{show.session_id}/status", headers=bearer(viewer["participant_token"])
        )
        assert status.status_code == 200, status.text
        assert _renew(c, viewer["participant_token"]).status_code == 200


async def _refused(show: Show, token: str) -> tuple[int, str]:
    async with connect_peer(show.url, token, None) as peer:
        return await peer.closed()


def _refusal(r: httpx.Response, reason: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"]["details"]["reason"] == reason, r.text


async def test_taken_back_is_refused_at_renewal_the_relay_and_whep(
    short_links: CloudServer,
) -> None:
    show = new_show(short_links)
    revoked, removed, ended = show.join("camera", 1), show.join("viewer"), show.join("camera", 2)
    base = f"/api/sessions/{show.session_id}"
    with show.http() as c:
        for joined in (revoked, removed, ended):  # all members until the director acts
            assert _renew(c, joined["participant_token"]).status_code == 200
        r = c.delete(f"{base}/invites/{revoked['invite_id']}", headers=show.director.auth)
        assert r.status_code == 204
        pid = removed["participant"]["id"]
        assert c.delete(f"{base}/participants/{pid}", headers=show.director.auth).is_success

        cases: list[tuple[dict[str, Any], str, int]] = [
            (revoked, "invite_revoked", 4401),
            (removed, "removed", 4401),
        ]
        for joined, reason, code in cases:
            token = joined["participant_token"]
            _refusal(_renew(c, token), reason)
            _refusal(c.get(f"/whep/{show.session_id}/status", headers=bearer(token)), reason)
            got, why = await _refused(show, token)
            assert got == code and why, (reason, got, why)

        assert c.post(f"{base}/end", headers=show.director.auth).is_success
        _refusal(_renew(c, ended["participant_token"]), "session_ended")
        assert await _refused(show, ended["participant_token"]) == (
            4404,
            "no such session, or it has ended",
        )
