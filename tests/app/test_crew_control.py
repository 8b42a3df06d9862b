"""The crew from the control API, against the real backend and relay: who joined, flash a
camera's phone, move a phone to another camera, revoke and re-issue a camera's link."""

from __future__ import annotations

from typing import Any

import httpx

from app.runtime import Runtime
from app.session_link import events as ev
from tally import Assign, Flash
from tests.app.crew_phone import phone_on_relay
from tests.app.live import Recorder, director_runtime, wait
from tests.cloud.relay.peers import Show, new_show
from tests.support.api import redeem
from tests.support.cloud import CloudServer

TOKEN = "test"  # light_config's control token


def control(rt: Runtime) -> httpx.Client:
    assert rt.control_url is not None
    return httpx.Client(base_url=rt.control_url, headers={"Authorization": f"Bearer {TOKEN}"})


def go_live(rt: Runtime, seen: Recorder) -> None:
    rt.call(lambda link: link.go_live()).result(20)
    wait(
        lambda: any(isinstance(e, ev.LiveChanged) and e.relay_connected for e in seen.events),
        15,
        lambda: seen.events,
    )


def listed(seen: Recorder, phone_id: str, camera: int) -> bool:
    """The latest phone list the app emitted has this phone on this camera."""
    lists = [e for e in seen.events if isinstance(e, ev.PhonesChanged)]
    return bool(lists) and any(
        p.id == phone_id and p.camera_number == camera for p in lists[-1].participants
    )


def error_code(r: httpx.Response) -> Any:
    return r.json()["error"]["code"]


def test_a_phone_is_listed_flashed_and_moved(server: CloudServer) -> None:
    show = new_show(server, cameras=3)
    with director_runtime(server, show.director, show.session_id, control=True) as (rt, seen):
        go_live(rt, seen)
        joined = show.join("camera", 1, display_name="Kim")
        phone_id = joined["participant"]["id"]
        with phone_on_relay(show.url, joined["participant_token"], 1) as phone, control(rt) as api:
            r = api.get("/api/phones")
            assert r.status_code == 200, r.text
            rows = [(p["id"], p["display_name"], p["camera_number"]) for p in r.json()["phones"]]
            assert rows == [(phone_id, "Kim", 1)]
            assert r.json()["phones"][0]["joined_at"]
            wait(lambda: listed(seen, phone_id, 1), 10, lambda: seen.events)

            r = api.post("/api/cameras/1/flash")
            assert r.status_code == 200, r.text
            phone.wait_for(lambda m: m == Flash(1))

            r = api.post(f"/api/phones/{phone_id}/camera", json={"camera": 3})
            assert r.status_code == 200, r.text
            assert r.json()["phone"]["camera_number"] == 3
            phone.wait_for(lambda m: isinstance(m, Assign) and m.camera == 3)
            wait(lambda: listed(seen, phone_id, 3), 10, lambda: seen.events)
            # Now camera 3's flash reaches it.
            assert api.post("/api/cameras/3/flash").status_code == 200
            phone.wait_for(lambda m: m == Flash(3))


def test_bad_crew_calls_get_clear_refusals_and_the_api_stays_up(server: CloudServer) -> None:
    show = new_show(server, cameras=2)
    runtime = director_runtime(server, show.director, show.session_id, control=True)
    with runtime as (rt, seen), control(rt) as api:
        r = api.post("/api/cameras/1/flash")  # not live yet: the relay carries it
        assert (r.status_code, error_code(r)) == (409, "not_live")
        go_live(rt, seen)
        r = api.post("/api/cameras/7/flash")
        assert (r.status_code, error_code(r)) == (404, "unknown_camera")
        r = api.post("/api/cameras/x/flash")
        assert (r.status_code, error_code(r)) == (400, "bad_request")
        r = api.post("/api/phones/nobody/camera", json={"camera": 2})
        assert (r.status_code, error_code(r)) == (404, "unknown_phone")
        r = api.post("/api/phones/nobody/camera", json={"camera": "two"})
        assert (r.status_code, error_code(r)) == (400, "bad_request")
        r = api.post("/api/phones/nobody/camera", content=b"{")
        assert (r.status_code, error_code(r)) == (400, "bad_request")
        r = api.delete("/api/invites/9")
        assert (r.status_code, error_code(r)) == (404, "unknown_camera")
        r = httpx.post(f"{rt.control_url}/api/cameras/1/flash")
        assert r.status_code == 401
        assert api.get("/api/health").json() == {"ok": True}
        assert api.get("/api/phones").status_code == 200


def redeem_url(show: Show, url: str) -> httpx.Response:
    with show.http() as c:
        return redeem(c, url.split("#", 1)[1], display_name="Lee")


def test_revoke_and_reissue_a_cameras_link(server: CloudServer) -> None:
    show = new_show(server, cameras=2)
    with director_runtime(server, show.director, show.session_id, control=True) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        old = next(i for i in chosen.invites if i.role == "camera" and i.camera_number == 2)
        with control(rt) as api:
            r = api.delete("/api/invites/2")
            assert r.status_code == 200, r.text
            assert r.json()["revoked"] == 1
            refused = redeem_url(show, old.url)
            assert 400 <= refused.status_code < 500, refused.text
            changed = seen.wait_for(ev.InvitesChanged)
            assert isinstance(changed, ev.InvitesChanged)
            assert not [i for i in changed.invites if i.camera_number == 2]

            r = api.delete("/api/invites/2")  # nothing left to revoke
            assert (r.status_code, error_code(r)) == (404, "no_invite")

            r = api.post("/api/invites/2/reissue")
            assert r.status_code == 200, r.text
            new = r.json()["invite"]
            assert new["camera"] == 2 and new["url"] != old.url
            joined = redeem_url(show, new["url"])
            assert joined.status_code == 201, joined.text
            assert joined.json()["participant"]["camera_number"] == 2
            r = api.post("/api/invites/2/reissue")  # again: the last one stops working
            assert r.status_code == 200, r.text
            assert 400 <= redeem_url(show, new["url"]).status_code < 500
