"""Redis restarted empty while a session is on air: the owner takes its lease again, and
viewers on the other process still get the program (docs/scale.md, Ownership)."""

from __future__ import annotations

from pathlib import Path

from tests.cloud.gateway.helpers import live, new_show, publisher, run_async, watch_with_aiortc
from tests.cloud.scale.pair import health, two_processes
from tests.support.api import register
from tests.support.procs import wait_until


def test_the_owner_takes_its_lease_again_after_redis_lost_it(tmp_path: Path) -> None:
    with two_processes(tmp_path) as (redis, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # A owns the session
        assert a.srt_port is not None
        with publisher(show, a.srt_port, tmp_path / "send.log") as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air\n{sender.tail()}")
            redis.stop()
            wait_until(lambda: health(a)[1]["scale"]["error"] is not None, 15, "renewals fail")
            redis.start()  # empty: the lease is gone
            wait_until(
                lambda: (
                    health(a)[1]["scale"]["error"] is None
                    and health(a)[1]["scale"]["owns"] == [show.session_id]
                ),
                15,
                f"A renews again\n{a.log_text()[-2000:]}",
            )
            token = show.viewer_token
            watched = run_async(watch_with_aiortc(b.base_url, show.session_id, token, 4.0))
        assert watched.status == 201, watched
        assert watched.video_frames > 30 and watched.audio_frames > 30, watched
        assert "lost the SRT ingest" not in a.log_text()


def test_with_redis_down_nobody_is_told_a_wrong_owner(tmp_path: Path) -> None:
    """No process can know who owns a session while Redis is away: GET .../srt says so (503,
    which the director's app retries) rather than sending the director to a guess, and the
    process stays up and ready (its viewers keep their video); once Redis is back it answers."""
    with two_processes(tmp_path) as (redis, a, _):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)
        url = f"/api/sessions/{show.session_id}/srt"
        redis.stop()
        with a.client() as api:
            r = api.get(url, headers=director.auth)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "srt_owner_unknown"
        wait_until(lambda: health(a)[1]["scale"]["error"] is not None, 15, "renewals fail")
        status, body = health(a)
        assert status == 200 and body["scale"]["ok"] is False, body
        redis.start()
        with a.client() as api:
            wait_until(lambda: api.get(url, headers=director.auth).status_code == 200, 15, url)
        assert a.alive()
