"""A thin client for the backend's HTTP API, so tests read as user stories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Director:
    email: str
    password: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(client: httpx.Client, name: str = "Director") -> Director:
    email = f"dir-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    r = client.post(
        "/api/auth/register", json={"email": email, "password": password, "display_name": name}
    )
    assert r.status_code == 201, r.text
    tokens = r.json()["tokens"]
    return Director(email, password, tokens["access_token"], tokens["refresh_token"])


def create_session(
    client: httpx.Client, director: Director, name: str = "Show", cameras: int = 3
) -> dict[str, Any]:
    body = {
        "name": name,
        "cameras": [{"number": n, "name": f"Cam {n}"} for n in range(1, cameras + 1)],
    }
    r = client.post("/api/sessions", json=body, headers=director.auth)
    assert r.status_code == 201, r.text
    session: dict[str, Any] = r.json()
    return session


def invite(
    client: httpx.Client,
    director: Director,
    session_id: str,
    role: str,
    camera: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r = client.post(
        f"/api/sessions/{session_id}/invites",
        json={"role": role, "camera_number": camera, **extra},
        headers=director.auth,
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def redeem(client: httpx.Client, token: str, **extra: Any) -> httpx.Response:
    return client.post("/api/invites/redeem", json={"token": token, **extra})
