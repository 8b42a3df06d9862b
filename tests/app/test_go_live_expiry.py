"""Go Live outlasts its publish token: after a 1403 it fetches the credentials again.

`returnfeed-cloud` runs on loopback with tokens that live a few seconds and its SRT
listener on a port it keeps across a restart. The app goes live; once every token it could
hold has expired the backend restarts (the director "loses the link"). The reconnect is
refused as expired, and the app must fetch the session's credentials again (which renews
the token) and be back on air by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.runtime import Runtime
from app.session_link import events as ev
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config
from tests.app.test_go_live import Recorder
from tests.app.test_go_live_video import fast_relay, wait_status
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


def streaming(seen: Recorder) -> bool:
    """The latest stats say both layers are connected and sending."""
    stream = [e for e in seen.events if isinstance(e, ev.StreamChanged) and e.layers]
    return bool(stream) and all(layer.connected and layer.fps > 0 for layer in stream[-1].layers)


def wait(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert check(), what


def test_go_live_reconnects_after_its_token_expired(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Long show", cameras=1)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    seen = Recorder()
    rt = Runtime(light_config(control=False, relay_factory=fast_relay), vault=MemoryVault())
    rt.start()
    rt.subscribe(seen)
    try:
        assert rt.call(
            lambda link: link.login(server.base_url, director.email, director.password)
        ).result(20)
        rt.call(lambda link: link.choose_session(session["id"])).result(20)
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen) and chosen.srt.expires_at is not None
        rt.call(lambda link: link.go_live()).result(20)
        wait(lambda: streaming(seen), 20, "the program stream")
        # Every token the app fetched before it streamed has expired by now.
        time.sleep(TTL_S + 0.5)
        assert streaming(seen), "expiry must not cut a connected stream"

        server.stop()
        server.start()
        status = wait_status(server, show, viewer, True, 30)
        assert status["live"] is True and status["layers"] == ["hi", "lo"], (
            status,
            seen.events[-3:],
        )
        assert "publish token expired" in server.log_text()
        wait(lambda: streaming(seen), 10, "the panel to say connected again")
    finally:
        rt.call(lambda link: link.stop_live()).result(10)
        rt.stop()
