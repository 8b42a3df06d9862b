"""A session ended through one process goes off air on every other at once: the process
whose API ended it tells the others over Redis (cloud/scale/notices.py), and the owner gives
up its lease and closes its publishers, and every process's viewers (the edges' too) leave,
within seconds, not at the next credentials refresh (30 s). With Redis away the refresh is
still the backstop (docs/scale.md, Ownership)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import redis as redis_client

from tests.cloud.gateway.helpers import (
    Show,
    Watched,
    live,
    new_show,
    publisher,
    run_async,
    watch_with_aiortc,
)
from tests.cloud.scale.pair import health, notices_listening, two_processes
from tests.support.api import Director, register
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until
from tests.support.redis import RedisServer

AT_ONCE_S = 5.0  # "within about a second", with room for a loaded CI machine; the refresh is 30


@contextmanager
def kept_viewer(server: CloudServer, show: Show) -> Iterator[Future[Watched]]:
    """An aiortc viewer on `server`, watching until the test is done with it; the future's
    result is what it watched."""
    frames: list[float] = []
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        watching = pool.submit(
            run_async,
            watch_with_aiortc(
                server.base_url,
                show.session_id,
                show.viewer_token,
                60,
                on_video=lambda _: frames.append(time.monotonic()),
                stop=stop,
            ),
        )
        try:
            wait_until(lambda: len(frames) > 5 or watching.done(), 20, "the viewer watching")
            assert not watching.done(), watching.result()
            yield watching
        finally:
            stop.set()


def viewer_closed(server: CloudServer) -> bool:
    return re.search(r"viewer \S+ closed", server.log_text()) is not None


def on_air(a: CloudServer, b: CloudServer, tmp_path: Path) -> tuple[Director, Show]:
    with a.client() as api:
        director = register(api)
        show = new_show(api, director)  # A owns the session
    notices_listening(a, b)
    return director, show


def end_through(server: CloudServer, director: Director, show: Show) -> float:
    with server.client() as api:
        r = api.post(f"/api/sessions/{show.session_id}/end", headers=director.auth)
    assert r.status_code == 200, r.text
    return time.monotonic()


def test_ended_on_another_process_the_owner_and_its_viewers_leave_at_once(
    tmp_path: Path,
) -> None:
    with two_processes(tmp_path) as (redis, a, b):
        director, show = on_air(a, b, tmp_path)
        assert a.srt_port is not None
        with publisher(show, a.srt_port, tmp_path / "send.log", layers="hi") as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air\n{sender.tail()}")
            bad_messages_change_nothing(redis, a, b, show)
            with kept_viewer(a, show):
                ended = end_through(b, director, show)
                wait_until(
                    lambda: health(a)[1]["scale"]["owns"] == [] and viewer_closed(a),
                    AT_ONCE_S,
                    f"A gives up and its viewer leaves\n{a.log_text()[-3000:]}",
                )
                took = time.monotonic() - ended
            with a.client() as api:
                assert not live(api, show)
        log = a.log_text()
        assert f"SRT publisher {show.session_id}/hi left" in log
        assert f"session {show.session_id} was ended through process two" in log
        print(f"\nended through B: A released and its viewer left {took:.2f} s later")


def bad_messages_change_nothing(
    redis: RedisServer, a: CloudServer, b: CloudServer, show: Show
) -> None:
    """Garbage, a notice for no session and a false "ended" on the channel: each is logged
    and ignored, and both processes stay up with the session on air."""
    with redis_client.Redis.from_url(redis.url) as r:
        r.publish("returnfeed:scale:sessions", b"\xff not json")
        r.publish("returnfeed:scale:sessions", '{"o":"x","k":"ended","s":"no-such-session"}')
        r.publish("returnfeed:scale:sessions", f'{{"o":"x","k":"ended","s":"{show.session_id}"}}')
    for server in (a, b):

        def logged(server: CloudServer = server) -> bool:
            log = server.log_text()
            return (
                "unreadable message ignored" in log
                and "no session no-such-session; ignored" in log
                and "it is live in the database; ignored" in log
            )

        wait_until(
            logged,
            10,
            f"the bad notices logged\n{server.log_text()[-2000:]}",
        )
        assert server.alive()
    assert show.session_id in health(a)[1]["scale"]["owns"]
    with a.client() as api:
        assert live(api, show)


def test_ended_through_the_owner_an_edges_viewers_leave_at_once(tmp_path: Path) -> None:
    with two_processes(tmp_path) as (_, a, b):
        director, show = on_air(a, b, tmp_path)
        assert a.srt_port is not None
        with publisher(show, a.srt_port, tmp_path / "send.log", layers="hi") as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air\n{sender.tail()}")
            with kept_viewer(b, show):  # B pulls the session from A: an edge
                assert health(b)[1]["scale"]["pulls"] == [show.session_id]
                ended = end_through(a, director, show)
                wait_until(
                    lambda: viewer_closed(b) and health(b)[1]["scale"]["pulls"] == [],
                    AT_ONCE_S,
                    f"B's viewer leaves and B stops pulling\n{b.log_text()[-3000:]}",
                )
                took = time.monotonic() - ended
        assert f"session {show.session_id} was ended through process one" in b.log_text()
        print(f"\nended through the owner: the edge's viewer left {took:.2f} s later")


def test_with_redis_away_the_owner_finds_the_end_at_its_refresh(tmp_path: Path) -> None:
    """The notice cannot go: the API still ends the session (and says in its log that the
    others were not told), and the owner finds it ended at its next refresh (30 s)."""
    with two_processes(tmp_path) as (redis, a, b):
        director, show = on_air(a, b, tmp_path)
        redis.stop()
        end_through(b, director, show)
        assert "other processes not told" in b.log_text()
        wait_until(lambda: health(a)[1]["scale"]["owns"] == [], 45, f"A gives up\n{a.log_text()}")
        assert a.alive() and b.alive()
