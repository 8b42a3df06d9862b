"""What one account may hold (docs/security.md, "Quotas"), and GET /api/sessions a page at
a time: clear 403s past a quota, room again after ending or revoking, pages that neither
repeat nor skip, and the plain list the director's app reads when it asks for no page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import database_url
from tests.support.api import Director, create_session, invite, register
from tests.support.cloud import RELAXED_RATES, CloudServer

SESSIONS = 3
INVITES = 4


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def quota_cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudServer]:
    url = database_url(request.param, request, "rf_quotas", tmp_path_factory)
    args = [*RELAXED_RATES, "--no-srt"]
    args += ["--max-sessions-per-user", str(SESSIONS), "--max-invites-per-user", str(INVITES)]
    server = CloudServer(tmp_path_factory.mktemp(f"quotas-{request.param}"), url, args)
    yield server
    server.stop()


def _quota(r: httpx.Response, resource: str, limit: int) -> None:
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "quota_exceeded", error
    assert error["details"] == {"resource": resource, "limit": limit}, error


def _new_session(c: httpx.Client, d: Director) -> httpx.Response:
    return c.post("/api/sessions", json={"name": "Show", "cameras": []}, headers=d.auth)


def test_sessions_and_invites_per_account(quota_cloud: CloudServer) -> None:
    with quota_cloud.client() as c:
        d = register(c)
        ids = [create_session(c, d, cameras=1)["id"] for _ in range(SESSIONS)]
        _quota(_new_session(c, d), "sessions", SESSIONS)
        assert _new_session(c, register(c)).status_code == 201  # another account's own
        assert c.post(f"/api/sessions/{ids[0]}/end", headers=d.auth).status_code == 200
        ids[0] = create_session(c, d, cameras=1)["id"]
        links = [invite(c, d, ids[n % 2], "viewer") for n in range(INVITES)]
        r = c.post(f"/api/sessions/{ids[2]}/invites", json={"role": "viewer"}, headers=d.auth)
        _quota(r, "invites", INVITES)
        gone = c.delete(f"/api/sessions/{ids[0]}/invites/{links[0]['id']}", headers=d.auth)
        assert gone.status_code == 204, gone.text
        invite(c, d, ids[2], "viewer")
        # Cameras need no quota: a session numbers them 1..99.
        r = c.post(f"/api/sessions/{ids[2]}/cameras", json={"number": 100, "name": "C"},
                   headers=d.auth)  # fmt: skip
        assert r.status_code == 422, r.text
    assert quota_cloud.alive()


def _next(r: httpx.Response) -> str | None:
    found = re.fullmatch(r'<(.+)>; rel="next"', r.headers.get("link", ""))
    return found.group(1) if found else None


def test_sessions_come_a_page_at_a_time(quota_cloud: CloudServer) -> None:
    with quota_cloud.client() as c:
        d = register(c)
        made = []
        for _ in range(6):  # 3 ended, 3 live: the quota counts live ones
            sid = create_session(c, d, cameras=0)["id"]
            made.append(sid)
            if len(made) <= 3:
                assert c.post(f"/api/sessions/{sid}/end", headers=d.auth).status_code == 200
        plain = c.get("/api/sessions", headers=d.auth)
        assert plain.status_code == 200 and "link" not in plain.headers
        assert [s["id"] for s in plain.json()] == made[:2:-1]  # live only, newest first
        seen: list[str] = []
        url: str | None = "/api/sessions?include_ended=true&limit=4"
        while url is not None:
            page = c.get(url, headers=d.auth)
            assert page.status_code == 200, page.text
            assert isinstance(page.json(), list) and len(page.json()) <= 4
            seen += [s["id"] for s in page.json()]
            url = _next(page)
        assert seen == made[::-1]
        r = c.get("/api/sessions?cursor=not-a-cursor", headers=d.auth)
        assert r.status_code == 400 and r.json()["error"]["details"] == {"field": "cursor"}
        assert c.get("/api/sessions?limit=0", headers=d.auth).status_code == 422
        assert c.get("/api/sessions?limit=101", headers=d.auth).status_code == 422
