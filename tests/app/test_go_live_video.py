"""Go Live sends the program: the real backend's gateway sees the director's stream.

`returnfeed-cloud` runs on loopback with its SRT listener on a free port (the SRT answer
names it); the app logs in, goes live, and the gateway's status must say live with both
layers, then not live after Stop. Keyframe requests from the relay reach the encoder.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.golive import session_targets
from app.session_link import events as ev
from media.send.output import SimulcastOutput
from tally import KeyframeRequest, Role
from tests.app.live import director_runtime, wait, wait_status
from tests.cloud.relay.peers import Show, connect_peer
from tests.support.api import bearer, create_session, register
from tests.support.cloud import CloudServer


def test_go_live_sends_the_program_to_the_gateway(
    server: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str | None] = []
    got_request = threading.Event()
    original = SimulcastOutput.request_keyframe

    def spy(self: SimulcastOutput, layer: str | None = None) -> None:
        asked.append(layer)
        got_request.set()
        original(self, layer)

    monkeypatch.setattr(SimulcastOutput, "request_keyframe", spy)
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Video show", cameras=1)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    with director_runtime(server, director, session["id"]) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        assert chosen.srt.srt_url and chosen.srt.srt_url.startswith("srt://")
        assert wait_status(server, show, viewer, False, 0)["live"] is False

        rt.call(lambda link: link.go_live()).result(20)
        status = wait_status(server, show, viewer, True, 8, ["hi", "lo"])
        assert status["live"] is True, (status, seen.events[-5:])
        assert status["layers"] == ["hi", "lo"], status

        # The panel's stats: both layers connected, frames going out.
        wait(lambda: seen.streaming() and len(seen.streams()[-1].layers) == 2, 5, seen.streams)
        lines = [layer.line() for e in seen.streams() for layer in e.layers]
        assert not any("Traceback" in line for line in lines), lines

        # A viewer's keyframe request over the relay reaches the encoder.
        async def ask() -> None:
            async with connect_peer(show.url, show.token("viewer"), Role.VIEWER) as peer:
                await peer.send(KeyframeRequest("lo", "test viewer"))
                await asyncio.to_thread(got_request.wait, 5)

        asyncio.run(ask())
        assert "lo" in asked, asked

        rt.call(lambda link: link.stop_live()).result(10)
        last = [e for e in seen.events if isinstance(e, ev.StreamChanged)][-1]
        assert last == ev.StreamChanged(False, (), "")
        assert wait_status(server, show, viewer, False, 8)["live"] is False


def test_session_targets_name_session_layer_and_token() -> None:
    targets = session_targets("srt://127.0.0.1:9000", "s1", "tok", "p" * 16)
    assert sorted(targets) == ["hi", "lo"]
    assert targets["hi"].streamid != targets["lo"].streamid
    assert (targets["lo"].host, targets["lo"].port, targets["lo"].profile.name) == (
        "127.0.0.1",
        9000,
        "lan",
    )
    with pytest.raises(ValueError, match="SRT address"):
        session_targets("http://x", "s1", "tok", None)
    with pytest.raises(ValueError, match=r"passphrase|10"):
        session_targets("srt://127.0.0.1:9000", "s1", "tok", "short")


def test_a_rotated_passphrase_shows_in_words_and_the_stream_comes_back_by_itself(
    server: CloudServer,
) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Rotated", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        rt.call(lambda link: link.go_live()).result(20)

        def every_line() -> list[str]:
            return [layer.line() for e in seen.streams() for layer in e.layers]

        wait(seen.streaming, 8, every_line)
        # The director rotates the passphrase elsewhere: the gateway drops this publisher
        # and refuses the old passphrase; the panel says so in words ...
        with server.client() as http:
            r = http.post(
                f"/api/sessions/{session['id']}/srt/rotate",
                json={"passphrase": True, "publish_token": False},
                headers=bearer(director.access),
            )
            assert r.status_code == 200, r.text
        wait(
            lambda: any("rejected" in s and "passphrase" in s for s in every_line()), 10, every_line
        )
        refused_at = len(seen.streams())
        lines = every_line()
        assert not any("Traceback" in s or "Error(" in s for s in lines), lines
        # ... and the app fetches the new credentials and is back on air, without the
        # director doing anything.
        wait(lambda: len(seen.streams()) > refused_at and seen.streaming(), 15, every_line)
