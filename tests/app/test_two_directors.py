"""A second director on the same session is shown to both, never hidden; one may take over.

Two switchers of one director account (a second laptop) go live on one session of the real
backend. Each sees the other on its health board; the second's program layers are refused
as a second publisher (1409) and say so. "Take over" makes the second the session's only
director and publisher: the relay closes the first (4409), whose Go Live ends with words,
and the gateway hands the layers to the second (o=takeover).
"""

from __future__ import annotations

from app.session_link import events as ev
from tests.app.live import Recorder, director_runtime, wait, wait_status
from tests.cloud.relay.peers import Show
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer


def degraded(seen: Recorder) -> dict[str, ev.Degraded]:
    health = [e for e in seen.events if isinstance(e, ev.HealthChanged)]
    return {d.link: d for d in health[-1].degraded} if health else {}


def conflicted(seen: Recorder) -> bool:
    layer = degraded(seen).get("stream hi")
    return layer is not None and layer.action == "take_over"


def stopped(seen: Recorder) -> ev.LiveChanged | None:
    return next(
        (e for e in seen.events if isinstance(e, ev.LiveChanged) and not e.live and e.detail),
        None,
    )


def test_a_second_director_is_shown_and_can_take_over(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Two laptops", cameras=1)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    with (
        director_runtime(server, director, session["id"]) as (first, seen_first),
        director_runtime(server, director, session["id"]) as (second, seen_second),
    ):
        first.call(lambda link: link.go_live()).result(20)
        wait(seen_first.streaming, 30, lambda: seen_first.events[-3:])
        second.call(lambda link: link.go_live()).result(20)

        wait(lambda: "directors" in degraded(seen_first), 20, lambda: degraded(seen_first))
        other = degraded(seen_first)["directors"]
        assert "another director is connected" in other.detail
        assert other.action == "take_over"
        wait(lambda: conflicted(seen_second), 30, lambda: degraded(seen_second))
        conflict = degraded(seen_second)["stream hi"]
        assert "another sender is publishing" in conflict.detail
        assert conflict.action == "take_over"
        assert "directors" in degraded(seen_second)

        second.call(lambda link: link.take_over()).result(10)
        wait(lambda: stopped(seen_first) is not None, 20, lambda: seen_first.events[-5:])
        ended = stopped(seen_first)
        assert ended is not None and "took this session over" in ended.detail
        wait(seen_second.streaming, 30, lambda: (seen_second.events[-3:], degraded(seen_second)))
        wait(lambda: not degraded(seen_second), 20, lambda: degraded(seen_second))
        status = wait_status(server, show, viewer, True, 20, ["hi", "lo"])
        assert status["live"] is True and status["layers"] == ["hi", "lo"], status
        # The one that was taken over stays off: it does not fight its way back.
        assert not any(
            isinstance(e, ev.LiveChanged) and e.live
            for e in seen_first.events[seen_first.events.index(ended) :]
        )
