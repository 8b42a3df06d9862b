"""Go Live outlasts its publish token: after a 1403 it fetches the credentials again.

`returnfeed-cloud` runs on loopback with tokens that live a few seconds and its SRT
listener on a port it keeps across a restart. The app goes live; once every token it could
hold has expired the backend restarts (the director "loses the link"). The reconnect is
refused as expired, and the app must fetch the session's credentials again (which renews
the token) and be back on air by itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.session_link import events as ev
from tests.app.live import director_runtime, wait, wait_status
from tests.cloud.relay.peers import Show
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer, gateway_server

TTL_S = 8


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path, env={"RETURNFEED_SRT_TOKEN_TTL_S": str(TTL_S)})
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


def test_go_live_reconnects_after_its_token_expired(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Long show", cameras=1)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    with director_runtime(server, director, session["id"]) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen) and chosen.srt.expires_at is not None
        rt.call(lambda link: link.go_live()).result(20)
        wait(seen.streaming, 20, lambda: "the program stream")
        # Every token the app fetched before it streamed has expired by now.
        time.sleep(TTL_S + 0.5)
        assert seen.streaming(), "expiry must not cut a connected stream"

        server.stop()
        server.start()
        status = wait_status(server, show, viewer, True, 30)
        assert status["live"] is True and status["layers"] == ["hi", "lo"], (
            status,
            seen.events[-3:],
        )
        assert "publish token expired" in server.log_text()
        wait(seen.streaming, 10, lambda: "the panel to say connected again")
