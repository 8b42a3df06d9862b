"""Invite links: each grants its role and nothing more."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from cloud.config import normalize_database_url
from cloud.db.engine import make_engine
from cloud.db.models import Invite
from tests.support.api import bearer, create_session, invite, redeem, register
from tests.support.cloud import CloudServer


def test_camera_link_bound_to_one_camera(client: httpx.Client, cloud: CloudServer) -> None:
    d = register(client)
    sid = create_session(client, d, cameras=3)["id"]
    inv = invite(client, d, sid, "camera", camera=2, label="Cam 2 op")
    assert inv["url"] == f"{cloud.base_url}/tally#{inv['token']}"
    assert len(inv["token"]) < 64, "short enough for a QR code a phone scans easily"

    joined = redeem(client, inv["token"], display_name="민수")
    assert joined.status_code == 201, joined.text
    j = joined.json()
    assert j["participant"]["role"] == "camera"
    assert j["participant"]["camera_number"] == 2
    assert j["participant"]["display_name"] == "민수"
    assert [c["number"] for c in j["cameras"]] == [1, 2, 3]
    me = client.get("/api/participant", headers=bearer(j["participant_token"]))
    assert me.status_code == 200 and me.json()["id"] == j["participant"]["id"]

    other = redeem(client, inv["token"], camera_number=3)
    assert other.status_code == 400 and "bound to camera 2" in other.json()["error"]["message"]

    listed = client.get(f"/api/sessions/{sid}/invites", headers=d.auth).json()
    assert listed[0]["uses"] == 1 and listed[0]["token"] == inv["token"]
    people = client.get(f"/api/sessions/{sid}/participants", headers=d.auth).json()
    assert sorted(p["role"] for p in people) == ["camera", "director"]


def test_open_camera_link_lets_the_phone_choose(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d, cameras=2)["id"]
    inv = invite(client, d, sid, "camera")
    j = redeem(client, inv["token"], camera_number=1).json()
    assert j["participant"]["camera_number"] == 1
    assert redeem(client, inv["token"]).json()["participant"]["camera_number"] is None
    assert redeem(client, inv["token"], camera_number=9).status_code == 404


def test_viewer_link(client: httpx.Client, cloud: CloudServer) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    inv = invite(client, d, sid, "viewer")
    assert inv["url"].startswith(f"{cloud.base_url}/watch#")
    j = redeem(client, inv["token"]).json()
    assert j["participant"]["role"] == "viewer" and j["cameras"] == []
    assert redeem(client, inv["token"], camera_number=1).status_code == 400
    r = client.post(
        f"/api/sessions/{sid}/invites", json={"role": "viewer", "camera_number": 1}, headers=d.auth
    )
    assert r.status_code == 400


def test_a_link_grants_its_role_and_nothing_more(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    for role in ("camera", "viewer"):
        token = redeem(client, invite(client, d, sid, role)["token"]).json()["participant_token"]
        for method, path in (
            ("GET", f"/api/sessions/{sid}/srt"),
            ("GET", f"/api/sessions/{sid}"),
            ("GET", "/api/sessions"),
            ("POST", f"/api/sessions/{sid}/invites"),
            ("PUT", f"/api/sessions/{sid}/cameras"),
            ("GET", "/api/auth/me"),
        ):
            r = client.request(method, path, headers=bearer(token), json={"role": "director"})
            assert r.status_code == 403, (role, path, r.text)
            assert r.json()["error"]["details"]["reason"] == "wrong_role"
    # An invite token itself is not a bearer credential anywhere.
    raw = invite(client, d, sid, "viewer")["token"]
    assert client.get("/api/participant", headers=bearer(raw)).status_code == 401
    assert client.get(f"/api/sessions/{sid}", headers=bearer(raw)).status_code == 401
    # A director's access token is not a participant token.
    assert client.get("/api/participant", headers=d.auth).status_code == 401
    # Another director's participants are not reachable either.
    stranger = register(client)
    r = client.post(f"/api/sessions/{sid}/invites", json={"role": "camera"}, headers=stranger.auth)
    assert r.status_code == 404


def test_revoking_a_link_stops_it_and_those_who_joined(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    inv = invite(client, d, sid, "camera", camera=1)
    token = redeem(client, inv["token"]).json()["participant_token"]
    assert (
        client.delete(f"/api/sessions/{sid}/invites/{inv['id']}", headers=d.auth).status_code == 204
    )
    r = redeem(client, inv["token"])
    assert r.status_code == 410 and r.json()["error"]["details"]["reason"] == "revoked"
    assert client.get("/api/participant", headers=bearer(token)).status_code == 401


def test_removed_participant_and_ended_session(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    inv = invite(client, d, sid, "viewer")
    j = redeem(client, inv["token"]).json()
    pid = j["participant"]["id"]
    r = client.delete(f"/api/sessions/{sid}/participants/{pid}", headers=d.auth)
    assert r.status_code == 204
    assert client.get("/api/participant", headers=bearer(j["participant_token"])).status_code == 401

    j2 = redeem(client, inv["token"]).json()
    client.post(f"/api/sessions/{sid}/end", headers=d.auth)
    assert (
        client.get("/api/participant", headers=bearer(j2["participant_token"])).status_code == 401
    )
    r = redeem(client, inv["token"])
    assert r.status_code == 410 and r.json()["error"]["details"]["reason"] == "session_ended"
    r = client.post(f"/api/sessions/{sid}/invites", json={"role": "viewer"}, headers=d.auth)
    assert r.status_code == 409


def _expire(database_url: str, invite_id: str) -> None:
    async def run() -> None:
        engine = make_engine(normalize_database_url(database_url))
        async with engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await conn.execute(update(Invite).where(Invite.id == invite_id).values(expires_at=past))
        await engine.dispose()

    asyncio.run(run())


def test_an_expired_link_admits_nobody_new_and_keeps_those_who_joined(
    client: httpx.Client, cloud: CloudServer
) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    inv = invite(client, d, sid, "camera", ttl_seconds=60)
    token = redeem(client, inv["token"]).json()["participant_token"]
    _expire(cloud.database_url, inv["id"])
    r = redeem(client, inv["token"])
    assert r.status_code == 410 and r.json()["error"]["details"]["reason"] == "expired"
    # The phone that joined is still a member (docs/relay.md, "Participants"), and renews.
    assert client.get("/api/participant", headers=bearer(token)).status_code == 200
    renewed = client.post("/api/participant/token", headers=bearer(token))
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()["participant_token"]
    assert client.get("/api/participant", headers=bearer(fresh)).status_code == 200


def test_invite_lifetime_defaults_to_seven_days_and_is_bounded(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    inv = invite(client, d, sid, "viewer")
    made, ends = (datetime.fromisoformat(inv[k]) for k in ("created_at", "expires_at"))
    assert ends - made == timedelta(days=7)
    for bad in (59, 30 * 24 * 3600 + 1, "3600"):
        r = client.post(
            f"/api/sessions/{sid}/invites",
            json={"role": "viewer", "ttl_seconds": bad},
            headers=d.auth,
        )
        assert r.status_code == 422, bad
        assert r.json()["error"]["details"]["problems"][0]["field"] == "ttl_seconds"


def test_forged_invite_tokens(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    good = invite(client, d, sid, "camera")["token"]
    invite_id, _, mac = good.partition(".")
    for bad in (
        f"{invite_id}.{mac[:-2]}xx",
        f"{invite_id}x.{mac}",
        invite_id,
        ".",
        "a" * 128,
        "' OR 1=1 --",
        "카메라.토큰",
    ):
        r = redeem(client, bad)
        assert r.status_code == 401, bad
        assert r.json()["error"]["code"] == "unauthorized"
