"""A link's quality ceiling from the director's app: the control API lists it and re-issues a
link with the one asked for (or the old link's), against the real backend; the viewer who
redeems the new link is held to it by the gateway."""

from __future__ import annotations

from typing import Any

import httpx

from app.session_link import events as ev
from tests.app.live import director_runtime
from tests.app.test_crew_control import control, error_code
from tests.cloud.relay.peers import Show, new_show
from tests.cloud.web.helpers import expire_invite
from tests.support.api import bearer, invite, redeem
from tests.support.cloud import CloudServer


def ceiling_for(show: Show, url: str) -> Any:
    """What the gateway lets the holder of this link watch (its status, no publisher needed)."""
    with show.server.client() as c:
        joined = redeem(c, url.split("#", 1)[1])
        assert joined.status_code == 201, joined.text
        token = joined.json()["participant_token"]
        r = c.get(f"/whep/{show.session_id}/status", headers=bearer(token))
        assert r.status_code == 200, r.text
        return r.json()["quality"]["ceiling"]


def links(api: httpx.Client) -> dict[Any, str]:
    r = api.get("/api/invites")
    assert r.status_code == 200, r.text
    return {i["camera"] or "viewer": i["quality"] for i in r.json()["invites"]}


def test_reissue_sets_or_keeps_a_links_quality(server: CloudServer) -> None:
    show = new_show(server, cameras=1)
    with (
        director_runtime(server, show.director, show.session_id, control=True) as (rt, seen),
        control(rt) as api,
    ):
        seen.wait_for(ev.SessionChosen)
        # The session's defaults: camera links lo only, the viewers' link auto.
        assert links(api) == {1: "lo", "viewer": "auto"}

        r = api.post("/api/invites/viewer/reissue", json={"quality": "lo"})
        assert r.status_code == 200, r.text
        lo_link = r.json()["invite"]
        assert lo_link["quality"] == "lo"
        assert ceiling_for(show, lo_link["url"]) == "lo"

        r = api.post("/api/invites/viewer/reissue")  # nothing asked: the old link's ceiling
        assert r.status_code == 200, r.text
        kept = r.json()["invite"]
        assert kept["quality"] == "lo" and kept["url"] != lo_link["url"]
        assert ceiling_for(show, kept["url"]) == "lo"

        r = api.post("/api/invites/1/reissue", json={"quality": "auto"})
        assert r.status_code == 200, r.text
        assert ceiling_for(show, r.json()["invite"]["url"]) == "auto"
        assert links(api) == {1: "auto", "viewer": "lo"}

        # A ceiling the gateway does not know: 400, and the link in use keeps working.
        r = api.post("/api/invites/viewer/reissue", json={"quality": "hi"})
        assert (r.status_code, error_code(r)) == (400, "bad_request")
        assert '"auto"' in r.json()["error"]["message"]
        assert ceiling_for(show, kept["url"]) == "lo"


def test_a_link_replaced_before_it_expires_keeps_its_quality(server: CloudServer) -> None:
    show = new_show(server, cameras=1)
    with server.client() as c:
        old = invite(c, show.director, show.session_id, "viewer", quality="lo")
        cam = invite(c, show.director, show.session_id, "camera", camera=1, quality="auto")
    for link in (old, cam):
        expire_invite(server.database_url, link["id"])
    # Choosing the session replaces expired links (ensure_invites): with the same ceilings,
    # not the session's defaults (which would be the other way round here).
    with director_runtime(server, show.director, show.session_id) as (_, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
    fresh = {i.camera_number or "viewer": i for i in chosen.invites}
    assert fresh["viewer"].url != old["url"] and fresh[1].url != cam["url"]
    assert (fresh["viewer"].quality, fresh[1].quality) == ("lo", "auto")


def test_the_sessions_defaults_from_the_control_api(server: CloudServer) -> None:
    show = new_show(server, cameras=1)
    with (
        director_runtime(server, show.director, show.session_id, control=True) as (rt, seen),
        control(rt) as api,
    ):
        seen.wait_for(ev.SessionChosen)
        listed = api.get("/api/sessions").json()["sessions"]
        assert listed[0]["quality"] == {"camera": "lo", "viewer": "auto"}
        path = f"/api/sessions/{show.session_id}/quality"
        r = api.patch(path, json={"viewer": "lo"})
        assert r.status_code == 200, r.text
        assert r.json()["session"]["quality"] == {"camera": "lo", "viewer": "lo"}
        for bad in ({"viewer": "hi"}, {"camera": 1}, {}):
            r = api.patch(path, json=bad)
            assert (r.status_code, error_code(r)) == (400, "bad_request"), bad
        with server.client() as c:
            session = c.get(f"/api/sessions/{show.session_id}", headers=show.director.auth)
            assert session.json()["quality"] == {"camera": "lo", "viewer": "lo"}
            # A link the director makes without choosing takes the new default.
            made = invite(c, show.director, show.session_id, "viewer")
            assert made["quality"] == "lo"
