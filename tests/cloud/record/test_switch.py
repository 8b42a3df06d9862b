"""The per-session recording switch against the real backend and a real `returnfeed send`:
off, a Go Live records nothing; on during the show, a recording begins at the next IDR; off
again, it ends cleanly ("stopped") and plays. Refusals are clear and the process stays up;
--no-recording wins and the answer says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.app.conftest import sqlite_backend
from tests.cloud.gateway.helpers import Show, live, metric, publisher
from tests.cloud.record.support import decode_errors, fetch, recordings, wait_recordings
from tests.support.api import Director, bearer, create_session, invite, redeem, register
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until


def switch(api: httpx.Client, show: Show, director: Director, on: Any) -> httpx.Response:
    url = f"/api/sessions/{show.session_id}/recording"
    return api.patch(url, json={"on": on}, headers=director.auth)


def test_switched_off_records_nothing_and_on_mid_show_records_until_off(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    assert rec_cloud.srt_port is not None
    sid = show.session_id
    assert api.get(f"/api/sessions/{sid}", headers=director.auth).json()["recording"] is True
    off = switch(api, show, director, False)
    assert off.status_code == 200, off.text
    assert off.json() == {
        "on": False,
        "records": False,
        "reason": "switched_off",
        "message": "recording is switched off for this session",
    }
    assert api.get(f"/api/sessions/{sid}", headers=director.auth).json()["recording"] is False
    link = invite(api, director, sid, "camera", camera=1)  # capped at lo: replays the lo copy
    camera = bearer(redeem(api, link["token"]).json()["participant_token"])

    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log") as sender:
        wait_until(lambda: live(api, show), 30, "the show is live")
        # Live, switched off: nothing is being written.
        listing = recordings(api, sid, director.auth)
        assert listing["on"] is False and listing["recordings"] == []

        on = switch(api, show, director, True)
        assert on.status_code == 200 and on.json()["records"] is True
        # Not up to a GOP late: the director is asked for the IDR it begins at (hi only:
        # the lo copy begins at lo's latest IDR, which the recorder keeps).
        asked = 'gateway_keyframe_requests_total{reason="recording_start"}'
        assert metric(api, asked) == 1
        (rec,) = wait_recordings(api, sid, director, 1, "recording")
        wait_until(
            lambda: recordings(api, sid, director.auth)["recordings"][0]["segments"] >= 2,
            30,
            "two segments",
        )
        url = f"/api/sessions/{sid}/recordings/{rec['id']}"
        refused = api.delete(url, headers=director.auth)
        assert refused.status_code == 400
        assert "still being written" in refused.json()["error"]["message"]

        assert switch(api, show, director, False).status_code == 200
        # While its last segment is written it is still "recording", never "interrupted".
        (finishing,) = recordings(api, sid, director.auth)["recordings"]
        assert finishing["state"] in ("recording", "ended"), finishing
        (ended,) = wait_recordings(api, sid, director, 1, "ended")
        assert ended["reason"] == "stopped"
        # Its lo copy began and ended with it.
        lo = api.get(f"/hls/{sid}/index.m3u8", headers=camera)
        assert lo.status_code == 200, lo.text
        assert f"{rec['id']}/lo/" in lo.text and "#EXT-X-ENDLIST" in lo.text
        copy = rec_cloud.data_dir / "recordings" / sid / rec["id"] / "lo"
        assert json.loads((copy / "state.json").read_text())["reason"] == "stopped"
        assert recordings(api, sid, director.auth)["current"] == {
            "state": "ended",
            "recording_id": rec["id"],
            "reason": "stopped",
        }
        assert sender.popen.poll() is None, "the show goes on"
        assert live(api, show)
    mp4 = fetch(api, f"{url}/program.mp4", director.auth, tmp_path / "stopped.mp4")
    assert decode_errors(mp4) == ""
    # The publisher left after the switch went off: still the one recording, as it ended.
    (after,) = recordings(api, sid, director.auth)["recordings"]
    assert after["reason"] == "stopped"


def test_refusals_are_clear_and_the_backend_stays_up(
    api: httpx.Client, director: Director, show: Show
) -> None:
    sid = show.session_id
    other = register(api)
    theirs = api.patch(f"/api/sessions/{sid}/recording", json={"on": False}, headers=other.auth)
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "not_found"
    assert api.get(f"/api/sessions/{sid}/recording", headers=other.auth).status_code == 404
    unknown = api.patch(
        "/api/sessions/nosuchone/recording", json={"on": False}, headers=director.auth
    )
    assert unknown.status_code == 404
    for body in ({"on": "no"}, {"on": 0}, {}, {"on": True, "extra": 1}):
        bad = api.patch(f"/api/sessions/{sid}/recording", json=body, headers=director.auth)
        assert bad.status_code == 422, (body, bad.text)
    assert api.patch(f"/api/sessions/{sid}/recording", json={"on": False}).status_code == 401
    missing = api.get(
        f"/api/sessions/{sid}/recordings/20261207T000000Z-abcdef/program.mp4",
        headers=director.auth,
    )
    assert missing.status_code == 404
    bad_id = api.delete(f"/api/sessions/{sid}/recordings/nope", headers=director.auth)
    assert bad_id.status_code == 400 and bad_id.json()["error"]["code"] == "bad_recording_id"

    assert api.post(f"/api/sessions/{sid}/end", headers=director.auth).status_code == 200
    ended = api.patch(f"/api/sessions/{sid}/recording", json={"on": True}, headers=director.auth)
    assert ended.status_code == 409
    assert api.get("/api/health").status_code == 200
    # Someone else's attempt changed nothing; the ended session is still mine to read.
    assert api.get(f"/api/sessions/{sid}/recording", headers=director.auth).json()["on"] is True


def test_no_recording_on_the_backend_wins_and_says_so(tmp_path: Path) -> None:
    with (
        sqlite_backend(tmp_path, {"RETURNFEED_NO_RECORDING": "1"}) as server,
        server.client() as api,
    ):
        director = register(api)
        sid = create_session(api, director, cameras=1)["id"]
        url = f"/api/sessions/{sid}/recording"
        answer = api.patch(url, json={"on": True}, headers=director.auth).json()
        assert answer["on"] is True and answer["records"] is False
        assert answer["reason"] == "backend_off"
        assert "--no-recording" in answer["message"]
        assert api.get(url, headers=director.auth).json() == answer
        listing = api.get(f"/api/sessions/{sid}/recordings", headers=director.auth)
        assert listing.status_code == 404
        assert listing.json()["error"]["code"] == "no_recordings"
