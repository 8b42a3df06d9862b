"""Quality by role: the director gives each invite link a ceiling (auto, or lo only), the
session keeps each role's default, and the gateway holds a lo-only viewer on lo whatever it
asks for. Real peers: `returnfeed send` -> SRT -> backend -> WHEP -> aiortc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.cloud.gateway.helpers import Show, Watched, on_air, watch, whep_offer_sdp
from tests.support.api import Director, bearer, create_session, invite, redeem
from tests.support.cloud import CloudServer

LO_ONLY = "this link includes low quality only (the director's choice)"


def joined(api: httpx.Client, link: dict[str, object]) -> str:
    r = redeem(api, str(link["token"]))
    assert r.status_code == 201, r.text
    return str(r.json()["participant_token"])


def test_each_role_has_a_default_the_director_can_change_and_override_per_link(
    api: httpx.Client, director: Director
) -> None:
    session = create_session(api, director, cameras=2)
    sid = session["id"]
    # Camera phones watch a return feed on a phone, often over the venue's Wi-Fi: lo only.
    assert session["quality"] == {"camera": "lo", "viewer": "auto"}
    assert invite(api, director, sid, "camera", camera=1)["quality"] == "lo"
    assert invite(api, director, sid, "viewer")["quality"] == "auto"
    assert invite(api, director, sid, "camera", camera=2, quality="auto")["quality"] == "auto"
    assert invite(api, director, sid, "viewer", quality="lo")["quality"] == "lo"

    r = api.patch(f"/api/sessions/{sid}/quality", json={"viewer": "lo"}, headers=director.auth)
    assert r.status_code == 200, r.text
    assert r.json()["quality"] == {"camera": "lo", "viewer": "lo"}
    assert (
        api.get(f"/api/sessions/{sid}", headers=director.auth).json()["quality"]["viewer"] == "lo"
    )
    assert invite(api, director, sid, "viewer")["quality"] == "lo"
    listed = api.get(f"/api/sessions/{sid}/invites", headers=director.auth).json()
    assert [i["quality"] for i in listed] == ["lo", "auto", "auto", "lo", "lo"], (
        "links made before the change keep theirs"
    )


def test_an_unknown_ceiling_is_refused_with_a_clear_error(
    api: httpx.Client, director: Director
) -> None:
    sid = create_session(api, director)["id"]
    bad = [
        api.post(
            f"/api/sessions/{sid}/invites",
            json={"role": "viewer", "quality": "hi"},
            headers=director.auth,
        ),
        api.patch(f"/api/sessions/{sid}/quality", json={"camera": "best"}, headers=director.auth),
    ]
    for r in bad:
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_request"
        assert "'auto' or 'lo'" in str(error["details"]), error
    assert api.get(f"/api/sessions/{sid}/invites", headers=director.auth).json() == []
    session = api.get(f"/api/sessions/{sid}", headers=director.auth).json()
    assert session["quality"] == {"camera": "lo", "viewer": "auto"}, "nothing changed"


def test_a_lo_only_viewer_gets_lo_whatever_it_asks_and_is_told_why(
    api: httpx.Client,
    director: Director,
    show: Show,
    gw_cloud: CloudServer,
    srt_port: int,
    tmp_path: Path,
) -> None:
    lo_only = joined(api, invite(api, director, show.session_id, "viewer", quality="lo"))
    status = api.get(f"/whep/{show.session_id}/status", headers=bearer(lo_only)).json()
    assert status["quality"] == {"ceiling": "lo", "reason": LO_ONLY}
    mine = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth).json()
    assert mine["quality"] == {"ceiling": "auto", "reason": None}
    with on_air(api, show, srt_port, tmp_path):
        # The offer asks for high: answered (201), on lo, and the answer says why.
        r = api.post(
            f"/whep/{show.session_id}",
            params={"mode": "high"},
            content=whep_offer_sdp(),
            headers={**bearer(lo_only), "Content-Type": "application/sdp"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["quality-ceiling"] == "lo"
        assert r.headers["quality-capped"] == LO_ONLY
        location = r.headers["location"]
        q = api.post(f"{location}/quality", json={"mode": "high"}, headers=bearer(lo_only))
        assert q.status_code == 200, q.text
        assert q.json() | {"active": None} == {
            "mode": "high",
            "layer": "lo",
            "active": None,
            "ceiling": "lo",
            "capped": True,
            "reason": LO_ONLY,
        }
        q = api.post(f"{location}/quality", json={"mode": "low"}, headers=bearer(lo_only))
        assert q.json()["capped"] is False and q.json()["reason"] is None
        assert api.delete(location, headers=bearer(lo_only)).status_code == 204

        # The page renews its token as it plays: the renewed one keeps the link's ceiling.
        renewed = api.post("/api/participant/token", headers=bearer(lo_only))
        assert renewed.status_code == 200, renewed.text
        # (Renewed within the second it was issued, the token is the same string: its
        # claims are all it carries. The ceiling is read from the link on every call.)
        token = renewed.json()["participant_token"]
        # What each decodes, asking for high at the start and again while it plays: the
        # auto link hi (640 wide), the lo-only one lo (320) from the first frame to the last.
        auto = watch(gw_cloud, show, 5, start_mode="high", mode_after=(2.0, "high"))
        lo = watch_as(gw_cloud, show, token, start_mode="high", mode_after=(2.0, "high"))
    assert auto.status == 201 and auto.widths == [640], "the auto link gets hi"
    assert lo.status == 201 and lo.video_frames > 30, lo
    assert lo.widths == [320], f"a lo-only viewer decoded {lo.widths}"


def watch_as(cloud: CloudServer, show: Show, token: str, **options: Any) -> Watched:
    """watch(), as the holder of `token`."""
    return watch(cloud, Show(show.session_id, show.srt, token, show.viewer_invite), 5, **options)


def test_reissuing_a_link_as_lo_only_ends_what_the_old_link_was_watching(
    api: httpx.Client,
    director: Director,
    show: Show,
    gw_cloud: CloudServer,
    srt_port: int,
    tmp_path: Path,
) -> None:
    """A re-issue is a revoke and a new link: the old link's viewers go at once, so none
    keeps hi past the director's choice, whatever client it uses (not only the pages,
    which leave when their next call is refused)."""
    links = api.get(f"/api/sessions/{show.session_id}/invites", headers=director.auth).json()
    old = next(i for i in links if i["token"] == show.viewer_invite)
    with on_air(api, show, srt_port, tmp_path):
        r = api.post(
            f"/whep/{show.session_id}",
            content=whep_offer_sdp(),
            headers={**show.viewer_auth, "Content-Type": "application/sdp"},
        )
        assert r.status_code == 201, r.text
        lo_only = joined(api, invite(api, director, show.session_id, "viewer", quality="lo"))
        watching = f"/whep/{show.session_id}/status"
        assert api.get(watching, headers=bearer(lo_only)).json()["viewers"] == 1
        gone = api.delete(
            f"/api/sessions/{show.session_id}/invites/{old['id']}", headers=director.auth
        )
        assert gone.status_code == 204
        assert api.get(watching, headers=bearer(lo_only)).json()["viewers"] == 0
        assert api.delete(r.headers["location"], headers=show.viewer_auth).status_code == 401
