"""A director's sessions, cameras and SRT credentials."""

from __future__ import annotations

import re

import httpx

from tests.support.api import create_session, register


def test_create_list_rename_end(client: httpx.Client) -> None:
    d = register(client)
    s = create_session(client, d, name="주일 예배 ⛪", cameras=2)
    assert s["state"] == "live"
    assert [c["number"] for c in s["cameras"]] == [1, 2]

    listed = client.get("/api/sessions", headers=d.auth).json()
    assert [x["id"] for x in listed] == [s["id"]]

    r = client.patch(
        f"/api/sessions/{s['id']}", json={"name": "  Sunday Service  "}, headers=d.auth
    )
    assert r.status_code == 200 and r.json()["name"] == "Sunday Service"

    ended = client.post(f"/api/sessions/{s['id']}/end", headers=d.auth).json()
    assert ended["state"] == "ended" and ended["ended_at"]
    assert client.get("/api/sessions", headers=d.auth).json() == []
    assert len(client.get("/api/sessions?include_ended=true", headers=d.auth).json()) == 1
    r = client.patch(f"/api/sessions/{s['id']}", json={"name": "again"}, headers=d.auth)
    assert r.status_code == 409


def test_cameras_crud(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d, cameras=1)["id"]
    base = f"/api/sessions/{sid}/cameras"
    r = client.post(
        base, json={"number": 5, "name": "Wide", "ndi_source": "HOST (Cam 5)"}, headers=d.auth
    )
    assert r.status_code == 201
    assert client.post(base, json={"number": 5, "name": "Dup"}, headers=d.auth).status_code == 409
    r = client.patch(f"{base}/5", json={"name": "Jib"}, headers=d.auth)
    assert r.json() == {"number": 5, "name": "Jib", "ndi_source": "HOST (Cam 5)"}
    r = client.patch(f"{base}/5", json={"ndi_source": None}, headers=d.auth)
    assert r.json()["ndi_source"] is None
    assert client.delete(f"{base}/1", headers=d.auth).status_code == 204
    assert client.delete(f"{base}/1", headers=d.auth).status_code == 404
    session = client.get(f"/api/sessions/{sid}", headers=d.auth).json()
    assert [c["number"] for c in session["cameras"]] == [5]

    replaced = client.put(
        base, json=[{"number": 2, "name": "B"}, {"number": 1, "name": "A"}], headers=d.auth
    )
    assert [c["number"] for c in replaced.json()] == [1, 2]
    dup = client.put(
        base, json=[{"number": 2, "name": "B"}, {"number": 2, "name": "A"}], headers=d.auth
    )
    assert dup.status_code == 400 and dup.json()["error"]["details"]["duplicates"] == [2]
    bad = client.put(base, json=[{"number": 100, "name": "Z"}], headers=d.auth)
    assert bad.status_code == 422


def test_srt_credentials_are_strong_rotatable_and_private(client: httpx.Client) -> None:
    d = register(client)
    sid = create_session(client, d)["id"]
    creds = client.get(f"/api/sessions/{sid}/srt", headers=d.auth).json()
    # Both go on command lines (`returnfeed send --session ID`): never a leading "-".
    assert re.fullmatch(r"[A-Za-z0-9]{11}", sid)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", creds["publish_token"])
    assert 10 <= len(creds["passphrase"]) <= 79 and len(creds["passphrase"]) >= 32
    assert creds["pbkeylen"] == 32 and len(creds["publish_token"]) >= 24

    only_token = client.post(
        f"/api/sessions/{sid}/srt/rotate", json={"passphrase": False}, headers=d.auth
    ).json()
    assert only_token["passphrase"] == creds["passphrase"]
    assert only_token["publish_token"] != creds["publish_token"]
    both = client.post(f"/api/sessions/{sid}/srt/rotate", json={}, headers=d.auth).json()
    assert both["passphrase"] != creds["passphrase"]

    stranger = register(client)
    for path in (f"/api/sessions/{sid}/srt", f"/api/sessions/{sid}"):
        r = client.get(path, headers=stranger.auth)
        assert r.status_code == 404, "another director must not even see that it exists"
    r = client.post(f"/api/sessions/{sid}/srt/rotate", json={}, headers=stranger.auth)
    assert r.status_code == 404
    assert client.get(f"/api/sessions/{sid}/srt").status_code == 401
