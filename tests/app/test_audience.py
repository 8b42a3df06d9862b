"""Audience links (HLS) from the app's core and its control API, against the real backend:
a link is made with the validity asked, is accepted by the backend's HLS (no recording yet:
404 "no recording yet", never 403), is told to the window (AudienceLinkChanged) and read
back; revoking stops every link made so far (403 token_revoked) and a new one works. A bad
validity, an unknown or someone else's session and a call before login are clear refusals,
and the app stays up."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from app.session_link import events as ev
from tests.app.live import director_runtime
from tests.app.test_crew_control import control, error_code
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer

HOUR_S = 3600
DAY_S = 24 * HOUR_S


def expires_in(link: dict[str, str], ttl_s: int) -> None:
    """The link's expiry is `ttl_s` from now, give or take the call."""
    left = datetime.fromisoformat(link["expires_at"]).timestamp() - time.time()
    assert ttl_s - 60 < left <= ttl_s + 1, (link, ttl_s)


def accepted(url: str) -> None:
    """The backend takes the link: before any recording, its 404 says there is none yet."""
    r = httpx.get(url)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == "the session has no recording yet"


def revoked(url: str) -> None:
    r = httpx.get(url)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"]["reason"] == "token_revoked"


def test_make_read_and_revoke_from_the_control_api(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        other = register(http)
        sid = create_session(http, director, name="Audience", cameras=1)["id"]
        theirs = create_session(http, other, name="Not mine", cameras=1)["id"]
    with director_runtime(server, director, sid, control=True) as (rt, seen), control(rt) as api:
        path = f"/api/sessions/{sid}/audience"
        assert api.get(path).json()["audience"] is None
        r = api.post(path, json={"ttl_s": HOUR_S})
        assert r.status_code == 200, r.text
        first = r.json()["audience"]
        assert first["url"].startswith(f"{server.base_url}/hls/{sid}/a/")
        assert first["url"].endswith("/index.m3u8")
        expires_in(first, HOUR_S)
        accepted(first["url"])
        told = seen.wait_for(ev.AudienceLinkChanged)
        assert isinstance(told, ev.AudienceLinkChanged) and told.session_id == sid
        assert told.link is not None and told.link.url == first["url"]

        second = api.post(path).json()["audience"]  # no body: valid one day
        expires_in(second, DAY_S)
        assert api.get(path).json()["audience"] == second  # the last one made
        accepted(second["url"])

        r = api.delete(path)
        assert r.status_code == 200 and r.json()["revoked"] is True, r.text
        for made in (first, second):
            revoked(made["url"])
        assert api.get(path).json()["audience"] is None
        assert isinstance(seen.events[-1], ev.AudienceLinkChanged)
        assert seen.events[-1].link is None
        fresh = api.post(path, json={"ttl_s": 7 * DAY_S}).json()["audience"]
        expires_in(fresh, 7 * DAY_S)
        accepted(fresh["url"])

        for ttl in (59, 30 * DAY_S + 1, -1, 0, "3600", True, 1.5, None):
            r = api.post(path, json={"ttl_s": ttl})
            assert (r.status_code, error_code(r)) == (400, "bad_request"), (ttl, r.text)
        assert "60 s to 30 days" in api.post(path, json={"ttl_s": 1}).json()["error"]["message"]
        for unknown in ("nosuchsession", theirs):
            for method in ("POST", "DELETE"):
                r = api.request(method, f"/api/sessions/{unknown}/audience")
                assert (r.status_code, error_code(r)) == (404, "not_found"), (method, r.text)
        r = api.post("/api/sessions/bad%20id!/audience")
        assert (r.status_code, error_code(r)) == (400, "bad_request")
        accepted(fresh["url"])  # no refusal touched the session's links
        assert api.get("/api/health").status_code == 200

        assert api.post("/api/account/logout").status_code == 200
        r = api.post(path, json={"ttl_s": HOUR_S})
        assert (r.status_code, error_code(r)) == (409, "not_logged_in")
        assert api.get(path).json()["audience"] is None  # forgotten with the login
        assert rt.state is not None


@pytest.mark.parametrize("ttl", [60, 30 * DAY_S])
def test_the_backends_bounds_are_the_cores(server: CloudServer, ttl: int) -> None:
    """The edges the core lets through are ones the backend takes."""
    with server.client() as http:
        director = register(http)
        sid = create_session(http, director, name="Edges", cameras=1)["id"]
    with director_runtime(server, director, sid) as (rt, _seen):
        link = rt.call(lambda link: link.audience.make(sid, ttl)).result(20)
        assert link.expires_at is not None
        expires_in({"expires_at": link.expires_at.isoformat()}, ttl)
        accepted(link.url)
