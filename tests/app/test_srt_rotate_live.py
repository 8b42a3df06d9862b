"""Rotating the SRT credentials on air: the backend closes the stream's connections and
refuses the old passphrase, and the app's layers come back with the new one by themselves.

`returnfeed-cloud` runs with its SRT ingest on loopback; the app goes live and streams both
layers; the director rotates from the control API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.session_link import events as ev
from tests.app.live import director_runtime, wait, wait_status
from tests.app.test_crew_control import control
from tests.cloud.relay.peers import Show
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer, gateway_server

# The ingest's log line for each layer that connects ("SRT publisher S/hi from 127.0.0.1:x").
PUBLISHED = re.compile(r"SRT publisher \S+ from ")


def published(server: CloudServer) -> int:
    return len(PUBLISHED.findall(server.log_text()))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path)
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


def test_the_stream_reconnects_with_rotated_credentials(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Rotating", cameras=1)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    with director_runtime(server, director, session["id"], control=True) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        rt.call(lambda link: link.go_live()).result(20)
        wait(seen.streaming, 30, lambda: seen.events[-3:])
        assert wait_status(server, show, viewer, True, 30, ["hi", "lo"])["layers"] == ["hi", "lo"]
        before = published(server)
        assert before >= 2, server.log_text()[-2000:]

        with control(rt) as api:
            r = api.post("/api/srt/rotate")
        assert r.status_code == 200, r.text
        assert r.json()["live"] is True
        rotated = seen.wait_for(ev.SrtRotated)
        assert isinstance(rotated, ev.SrtRotated) and rotated.live
        assert rotated.srt.passphrase != chosen.srt.passphrase

        # Both layers published again, which only the new passphrase and token can do.
        wait(
            lambda: published(server) >= before + 2,
            30,
            lambda: server.log_text()[-3000:],
        )
        status = wait_status(server, show, viewer, True, 30, ["hi", "lo"])
        assert status["layers"] == ["hi", "lo"], (status, seen.events[-3:])
        wait(seen.streaming, 15, lambda: seen.events[-3:])
