"""Bad input gets a clear 4xx, the server stays up, and nothing stored changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import Director, create_session, invite, register


def _stored(client: httpx.Client, d: Director, sid: str) -> dict[str, Any]:
    def get(path: str) -> Any:
        r = client.get(path, headers=d.auth)
        assert r.status_code == 200, r.text
        return r.json()

    return {
        "me": get("/api/auth/me"),
        "session": get(f"/api/sessions/{sid}"),
        "invites": get(f"/api/sessions/{sid}/invites"),
        "participants": get(f"/api/sessions/{sid}/participants"),
        "srt": get(f"/api/sessions/{sid}/srt"),
    }


def _assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


@pytest.fixture
def show(client: httpx.Client) -> tuple[Director, str]:
    d = register(client)
    sid = create_session(client, d, cameras=2)["id"]
    invite(client, d, sid, "camera", camera=1)
    return d, sid


def test_malformed_bodies(client: httpx.Client, show: tuple[Director, str]) -> None:
    d, sid = show
    before = _stored(client, d, sid)
    h = {**d.auth, "Content-Type": "application/json"}
    path = f"/api/sessions/{sid}"
    for raw in (
        b"{",
        b"",
        b"null",
        b"[]",
        b'{"name": }',
        b"\xff\xfe\x00",
        b'"name"',
        b'{"name": "x", "name": 1',
        b"NaN",
    ):
        r = client.patch(path, content=raw, headers=h)
        assert r.status_code in (400, 422), (raw, r.text)
        _assert_error(r, r.status_code)
    _assert_error(client.patch(path, content=b"{", headers=h), 400, "malformed_json")
    _assert_error(client.patch(path, json={"name": 5}, headers=d.auth), 422, "invalid_request")
    _assert_error(client.patch(path, json={"name": ""}, headers=d.auth), 422)
    _assert_error(client.patch(path, json={"name": "x" * 101}, headers=d.auth), 422)
    _assert_error(client.patch(path, json={"name": "a\x00b"}, headers=d.auth), 422)
    _assert_error(client.patch(path, json={"name": "ok", "owner_id": "me"}, headers=d.auth), 422)
    cams = f"/api/sessions/{sid}/cameras"
    for bad in (
        {"number": "1", "name": "x"},
        {"number": True, "name": "x"},
        {"number": 1.5, "name": "x"},
        {"number": 0, "name": "x"},
        {"name": "x"},
    ):
        _assert_error(client.post(cams, json=bad, headers=d.auth), 422)
    _assert_error(
        client.post(f"/api/sessions/{sid}/invites", json={"role": "director"}, headers=d.auth), 422
    )
    _assert_error(
        client.post(
            "/api/auth/register",
            json={"email": "not-an-email", "password": "longenough", "display_name": "x"},
        ),
        422,
    )
    _assert_error(
        client.post(
            "/api/auth/register",
            json={"email": "a@example.com", "password": "short", "display_name": "x"},
        ),
        422,
    )
    assert _stored(client, d, sid) == before


def test_huge_bodies_are_refused_before_reading(
    client: httpx.Client, show: tuple[Director, str]
) -> None:
    d, sid = show
    before = _stored(client, d, sid)
    huge = b'{"name": "' + b"x" * 200_000 + b'"}'
    h = {**d.auth, "Content-Type": "application/json"}
    r = client.patch(f"/api/sessions/{sid}", content=huge, headers=h)
    _assert_error(r, 413, "body_too_large")

    def chunks() -> Any:  # no Content-Length: the limit must hold while streaming too
        for _ in range(100):
            yield b"x" * 4096

    r = client.patch(f"/api/sessions/{sid}", content=chunks(), headers=h)
    _assert_error(r, 413, "body_too_large")
    r = client.post("/api/auth/login", content=huge, headers={"Content-Type": "application/json"})
    _assert_error(r, 413)
    assert _stored(client, d, sid) == before


def test_sql_metacharacters_and_unicode_are_stored_verbatim(
    client: httpx.Client, show: tuple[Director, str]
) -> None:
    d, sid = show
    names = [
        "Robert'); DROP TABLE sessions;--",
        "카메라 감독님의 쇼 🎥🔴",
        "100% _wild_ \\ card",
        '"quoted" <b>html</b>',
        "ﷺ𝕏 ẞ 👩🏽‍💻",
    ]
    for name in names:
        r = client.patch(f"/api/sessions/{sid}", json={"name": name}, headers=d.auth)
        assert r.status_code == 200, r.text
        assert client.get(f"/api/sessions/{sid}", headers=d.auth).json()["name"] == name
    r = client.post(
        f"/api/sessions/{sid}/cameras",
        json={"number": 7, "name": "' OR '1'='1", "ndi_source": "PC (Cam; DROP)"},
        headers=d.auth,
    )
    assert r.status_code == 201
    login = client.post("/api/auth/login", json={"email": "' OR 1=1 --", "password": "x' OR '1"})
    _assert_error(login, 401)


def test_wrong_methods_paths_and_ids(client: httpx.Client, show: tuple[Director, str]) -> None:
    d, sid = show
    before = _stored(client, d, sid)
    _assert_error(client.get("/api/nope"), 404, "not_found")
    _assert_error(client.delete("/api/auth/me", headers=d.auth), 405, "method_not_allowed")
    _assert_error(client.get("/api/sessions/" + "x" * 40, headers=d.auth), 422)
    _assert_error(client.get("/api/sessions/nope", headers=d.auth), 404)
    _assert_error(client.delete(f"/api/sessions/{sid}/cameras/abc", headers=d.auth), 422)
    _assert_error(client.delete(f"/api/sessions/{sid}/invites/nope", headers=d.auth), 404)
    _assert_error(client.post("/api/invites/redeem", json={"token": ""}), 422)
    assert _stored(client, d, sid) == before
