"""Accounts, sessions, links and SRT credentials from the control API, against the real
backend: what Companion does there, the backend holds, and the app follows."""

from __future__ import annotations

import secrets

import httpx

from app.runtime import Runtime
from app.session_link import events as ev
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config
from tests.app.live import Recorder, director_runtime, fast_relay
from tests.app.test_crew_control import control, error_code, go_live, redeem_url
from tests.cloud.relay.peers import Show, new_show
from tests.support.api import bearer
from tests.support.cloud import CloudServer


def backend_srt(show: Show) -> str:
    with show.http() as http:
        r = http.get(f"/api/sessions/{show.session_id}/srt", headers=bearer(show.director.access))
        assert r.status_code == 200, r.text
        return str(r.json()["passphrase"])


def test_an_account_and_its_sessions_from_the_control_api(server: CloudServer) -> None:
    seen = Recorder()
    rt = Runtime(light_config(control=True, relay_factory=fast_relay), vault=MemoryVault())
    rt.start()
    rt.subscribe(seen)
    email = f"dir-{secrets.token_hex(4)}@example.com"
    account = {"backend": server.base_url, "email": email, "password": "a-good-password"}
    try:
        with control(rt) as api:
            r = api.post("/api/account/register", json={**account, "display_name": "Park"})
            assert (r.status_code, r.json()["email"]) == (200, email), r.text
            assert api.get("/api/sessions").json()["sessions"] == []

            r = api.post("/api/sessions", json={"name": "Morning", "cameras": 2})
            assert r.status_code == 200, r.text
            made = r.json()["session"]
            assert [c["number"] for c in made["cameras"]] == [1, 2]
            chosen = seen.wait_for(ev.SessionChosen)
            assert isinstance(chosen, ev.SessionChosen) and chosen.session.id == made["id"]

            r = api.patch(f"/api/sessions/{made['id']}", json={"name": "Evening"})
            assert (r.status_code, r.json()["session"]["name"]) == (200, "Evening"), r.text
            listed = api.get("/api/sessions").json()
            assert listed["chosen"] == made["id"]
            assert [s["name"] for s in listed["sessions"]] == ["Evening"]
            renamed = seen.wait_for(ev.SessionUpdated)
            assert isinstance(renamed, ev.SessionUpdated) and renamed.session is not None
            assert renamed.session.name == "Evening"

            # Log out and back in: the same account, the same session.
            assert api.post("/api/account/logout").status_code == 200
            r = api.post("/api/account/login", json=account)
            assert r.status_code == 200, r.text
            r = api.post(f"/api/sessions/{made['id']}/choose")
            assert (r.status_code, r.json()["session"]["name"]) == (200, "Evening"), r.text

            r = api.post(f"/api/sessions/{made['id']}/end")
            assert (r.status_code, r.json()["session"]["state"]) == (200, "ended"), r.text
            assert api.get("/api/sessions").json() == {"ok": True, "sessions": [], "chosen": None}
            r = api.post("/api/srt/rotate")  # nothing chosen any more
            assert (r.status_code, error_code(r)) == (409, "no_session")
    finally:
        rt.stop()


def test_rotate_srt_and_the_viewers_link(server: CloudServer) -> None:
    show = new_show(server, cameras=2)
    with director_runtime(server, show.director, show.session_id, control=True) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        before = backend_srt(show)
        with control(rt) as api:
            r = api.post("/api/srt/rotate")
            assert r.status_code == 200, r.text
            assert r.json()["rotated"] is True and "passphrase" not in r.text
            assert before not in r.text
            assert backend_srt(show) != before
            rotated = seen.wait_for(ev.SrtRotated)
            assert isinstance(rotated, ev.SrtRotated) and rotated.srt.passphrase != before

            r = api.get("/api/invites")
            assert r.status_code == 200, r.text
            roles = sorted((i["role"], i["camera"] or 0) for i in r.json()["invites"])
            assert roles == [("camera", 1), ("camera", 2), ("viewer", 0)]
            old = next(i for i in r.json()["invites"] if i["role"] == "viewer")

            r = api.post("/api/invites/viewer/reissue")
            assert r.status_code == 200, r.text
            new = r.json()["invite"]
            assert new["role"] == "viewer" and new["url"] != old["url"]
            assert 400 <= redeem_url(show, old["url"]).status_code < 500
            assert redeem_url(show, new["url"]).status_code == 201

            r = api.delete("/api/invites/viewer")
            assert (r.status_code, r.json()["revoked"]) == (200, 1), r.text
            assert 400 <= redeem_url(show, new["url"]).status_code < 500
            r = api.delete("/api/invites/viewer")
            assert (r.status_code, error_code(r)) == (404, "no_invite")


def test_ending_the_session_on_air_stops_the_show_first(server: CloudServer) -> None:
    show = new_show(server, cameras=1)
    with director_runtime(server, show.director, show.session_id, control=True) as (rt, seen):
        go_live(rt, seen)
        with control(rt) as api:
            r = api.post(f"/api/sessions/{show.session_id}/end")
            assert r.status_code == 200, r.text
        events = list(seen.events)
        stopped = [i for i, e in enumerate(events) if isinstance(e, ev.LiveChanged) and not e.live]
        ended = [i for i, e in enumerate(events) if e == ev.SessionUpdated(None)]
        assert stopped and ended and stopped[0] < ended[0], events
        assert rt.call(lambda link: link.go_live()).result(10) is None
        assert isinstance(seen.events[-1], ev.LinkFailed)  # no session to go live on


def test_bad_session_calls_get_clear_refusals(server: CloudServer) -> None:
    show = new_show(server, cameras=1)
    with director_runtime(server, show.director, show.session_id, control=True) as (rt, _seen):
        with control(rt) as api:
            r = api.patch("/api/sessions/nosuchsession", json={"name": "X"})
            assert (r.status_code, error_code(r)) == (404, "not_found"), r.text
            r = api.post("/api/sessions/nosuchsession/end")
            assert r.status_code == 404, r.text
            r = api.post("/api/sessions/bad%20id/end")
            assert (r.status_code, error_code(r)) == (400, "bad_request")
            r = api.patch(f"/api/sessions/{show.session_id}", json={"name": ""})
            assert (r.status_code, error_code(r)) == (400, "bad_request")
            r = api.patch(f"/api/sessions/{show.session_id}", json={"name": "x" * 101})
            assert (r.status_code, error_code(r)) == (400, "bad_request")
            for cameras in (0, 100, "2", True):
                r = api.post("/api/sessions", json={"name": "N", "cameras": cameras})
                assert (r.status_code, error_code(r)) == (400, "bad_request"), cameras
            wrong = {"backend": server.base_url, "email": show.director.email, "password": "no"}
            r = api.post("/api/account/register", json={**wrong, "display_name": "D"})
            assert r.status_code == 400, r.text  # the backend wants 8 characters or more
            wrong["password"] = "wrong-password"
            r = api.post("/api/account/register", json={**wrong, "display_name": "D"})
            assert r.status_code == 409, r.text  # that email has an account
            r = api.post("/api/account/login", json=wrong)
            assert r.status_code == 403, r.text
            r = api.get("/api/sessions")  # the failed login logged this app out
            assert (r.status_code, error_code(r)) == (409, "not_logged_in")
            r = api.post("/api/account/login", json={**wrong, "backend": "http://127.0.0.1:9"})
            assert r.status_code == 502, r.text
            r = httpx.post(f"{rt.control_url}/api/srt/rotate")
            assert r.status_code == 401
            assert api.get("/api/health").json() == {"ok": True}
        assert rt.running
