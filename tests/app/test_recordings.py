"""The director's recordings from the app's core and its control API, against the real
backend with the app's own Go Live: the switch off records nothing, on mid-show records,
off again ends it ("stopped"); the on-air poll tells the state; the recording downloads as
one MP4 that decodes, plays through the system opener, and is deleted. Refusals are clear
and the app and the backend stay up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.session_link import events as ev
from tests.app.conftest import sqlite_backend
from tests.app.live import Recorder, director_runtime, wait
from tests.app.test_crew_control import control, error_code
from tests.cloud.record.support import decode_errors
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer, gateway_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud")
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


def told(seen: Recorder, now: str, **match: Any) -> bool:
    """The latest recordings the core published say the show's recording is `now`, and
    the newest recording has the fields in `match`."""
    lists = [e.listing for e in seen.events if isinstance(e, ev.RecordingsListed)]
    if not lists or lists[-1].now.state != now:
        return False
    recs = lists[-1].recordings
    return all(bool(recs) and getattr(recs[-1], k) == v for k, v in match.items())


def listing(api: httpx.Client, sid: str) -> dict[str, Any]:
    r = api.get(f"/api/sessions/{sid}/recordings")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_switch_list_download_play_and_delete_from_the_control_api(
    server: CloudServer, tmp_path: Path
) -> None:
    with server.client() as http:
        director = register(http)
        other = register(http)
        sid = create_session(http, director, name="Recorded", cameras=1)["id"]
        theirs = create_session(http, other, name="Not mine", cameras=1)["id"]
    opened: list[str] = []
    with (
        director_runtime(server, director, sid, control=True, open_browser=opened.append) as (
            rt,
            seen,
        ),
        control(rt) as api,
    ):
        r = api.patch(f"/api/sessions/{sid}/recording", json={"on": False})
        assert r.status_code == 200, r.text
        assert r.json()["recording"]["on"] is False
        assert r.json()["recording"]["reason"] == "switched_off"
        updated = seen.wait_for(ev.SessionUpdated)
        assert isinstance(updated, ev.SessionUpdated) and updated.session is not None
        assert updated.session.recording is False

        rt.call(lambda link: link.go_live()).result(20)
        wait(seen.streaming, 30, lambda: seen.events[-3:])
        wait(lambda: told(seen, "off"), 15, lambda: seen.events[-3:])
        assert listing(api, sid)["recordings"] == []

        assert api.patch(f"/api/sessions/{sid}/recording", json={"on": True}).status_code == 200
        wait(lambda: told(seen, "recording", state="recording"), 20, lambda: seen.events[-3:])
        wait(lambda: listing(api, sid)["recordings"][0]["segments"] >= 2, 30, lambda: "2 segments")
        rec = listing(api, sid)["recordings"][0]
        r = api.delete(f"/api/sessions/{sid}/recordings/{rec['id']}")
        assert r.status_code == 400 and "still being written" in r.json()["error"]["message"]

        assert api.patch(f"/api/sessions/{sid}/recording", json={"on": False}).status_code == 200
        wait(
            lambda: told(seen, "off", state="ended", reason="stopped"), 20, lambda: seen.events[-3:]
        )
        assert seen.streaming(), "the show goes on"

        out = tmp_path / "show.mp4"
        r = api.post(
            f"/api/sessions/{sid}/recordings/{rec['id']}/download", json={"path": str(out)}
        )
        assert r.status_code == 200, r.text
        assert r.json()["bytes"] == out.stat().st_size > 0
        assert decode_errors(out) == ""
        assert not list(tmp_path.glob("*.part"))
        saved = seen.wait_for(ev.RecordingSaved)
        assert isinstance(saved, ev.RecordingSaved) and saved.path == str(out)

        r = api.post(f"/api/sessions/{sid}/recordings/{rec['id']}/play")
        assert r.status_code == 200, r.text
        assert opened == [Path(r.json()["path"]).as_uri()]

        for body in ({"path": str(out)}, {"path": "relative.mp4"}, {}, {"path": str(tmp_path)}):
            r = api.post(f"/api/sessions/{sid}/recordings/{rec['id']}/download", json=body)
            assert r.status_code == 400, (body, r.text)
        unknown = "20261207T000000Z-abcdef"
        r = api.post(
            f"/api/sessions/{sid}/recordings/{unknown}/download",
            json={"path": str(tmp_path / "x.mp4")},
        )
        assert r.status_code == 404, r.text
        assert not (tmp_path / "x.mp4").exists()
        r = api.delete(f"/api/sessions/{sid}/recordings/not-a-recording")
        assert (r.status_code, error_code(r)) == (404, "unknown_recording")
        r = api.get(f"/api/sessions/{theirs}/recordings")
        assert r.status_code == 404, r.text
        r = api.patch(f"/api/sessions/{theirs}/recording", json={"on": False})
        assert (r.status_code, error_code(r)) == (404, "not_found")
        r = api.patch(f"/api/sessions/{sid}/recording", json={"on": "yes"})
        assert r.status_code == 400

        r = api.delete(f"/api/sessions/{sid}/recordings/{rec['id']}")
        assert r.status_code == 200, r.text
        assert listing(api, sid)["recordings"] == []
        r = api.delete(f"/api/sessions/{sid}/recordings/{rec['id']}")
        assert r.status_code == 404, r.text
        assert api.get("/api/health").status_code == 200
        assert seen.streaming()


def test_a_backend_that_keeps_no_recordings_says_so(tmp_path: Path) -> None:
    with sqlite_backend(tmp_path, {"RETURNFEED_NO_RECORDING": "1"}) as server:
        with server.client() as http:
            director = register(http)
            sid = create_session(http, director, name="Unrecorded", cameras=1)["id"]
        with (
            director_runtime(server, director, sid, control=True) as (rt, seen),
            control(rt) as api,
        ):
            r = api.patch(f"/api/sessions/{sid}/recording", json={"on": True})
            assert r.status_code == 200, r.text
            assert r.json()["recording"]["records"] is False
            assert r.json()["recording"]["reason"] == "backend_off"
            body = listing(api, sid)
            assert body["now"]["state"] == "unavailable" and body["recordings"] == []
            assert told(seen, "unavailable")
            r = api.post(f"/api/sessions/{sid}/recordings/20261207T000000Z-abcdef/play")
            assert (r.status_code, error_code(r)) == (404, "no_recordings")
