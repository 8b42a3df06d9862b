"""SRT credentials rotated through a process that is not the session's owner: the owner
hears of it over Redis (cloud/scale/notices.py) and closes the session's publishers, so the
director's `returnfeed send --cloud` reconnects, is refused for its old credentials, fetches
the new ones and publishes with them (docs/scale.md, Ownership; app/srt_renewal.py)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cloud.gateway.helpers import live, new_show, publisher
from tests.cloud.scale.pair import notices_listening, two_processes
from tests.support.api import register
from tests.support.procs import wait_until

AT_ONCE_S = 5.0  # "within about a second", with room for a loaded CI machine


def test_rotated_on_another_process_the_owner_sends_the_director_for_new_credentials(
    tmp_path: Path,
) -> None:
    with two_processes(tmp_path) as (_, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # A owns the session
        notices_listening(a, b)
        assert a.srt_port is not None
        send_log = tmp_path / "send.log"
        # The director's API calls go to B, the process that is not the owner.
        cloud = (b.base_url, director.access)
        with publisher(show, a.srt_port, send_log, layers="hi", cloud=cloud) as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air at A\n{sender.tail()}")
            left = f"SRT publisher {show.session_id}/hi left"
            came = f"SRT publisher {show.session_id}/hi from"
            assert left not in a.log_text() and a.log_text().count(came) == 1
            rotate = f"/api/sessions/{show.session_id}/srt/rotate"
            with b.client() as api:
                r = api.post(rotate, json={}, headers=director.auth)
            assert r.status_code == 200, r.text
            rotated = time.monotonic()
            new = r.json()
            assert new["passphrase"] != show.srt["passphrase"]
            assert new["srt_port"] == a.srt_port  # B sends the director to the owner
            wait_until(lambda: left in a.log_text(), AT_ONCE_S, f"A kicks\n{a.log_text()[-3000:]}")
            kicked = time.monotonic() - rotated
            # Refused for the old credentials, fetched the new ones, back on air at A.
            wait_until(
                lambda: a.log_text().count(came) == 2,
                30,
                f"the director back at A\n{sender.tail()}\n{a.log_text()[-3000:]}",
            )
            back = time.monotonic() - rotated
            with a.client() as api:
                assert live(api, show)
            sent = sender.tail(200)
        log = a.log_text()
        assert "were rotated through process two: closing its publishers here" in log
        assert "fetched the session's SRT credentials again" in sent, sent
        assert new["passphrase"] not in sent and new["publish_token"] not in sent
        print(f"\nrotated through B: A kicked after {kicked:.2f} s, back on air after {back:.2f} s")


def test_with_redis_away_the_owner_finds_a_new_passphrase_at_its_refresh(
    tmp_path: Path,
) -> None:
    """The notice cannot go: the owner finds the passphrase changed at its next credentials
    refresh (30 s) and closes the session's publishers then (docs/scale.md, Redis away)."""
    with two_processes(tmp_path) as (redis, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # A owns the session
        assert a.srt_port is not None
        with publisher(show, a.srt_port, tmp_path / "send.log", layers="hi") as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air at A\n{sender.tail()}")
            redis.stop()
            rotate = f"/api/sessions/{show.session_id}/srt/rotate"
            with b.client() as api:
                r = api.post(rotate, json={}, headers=director.auth)
            # The credentials are rotated; where to send them nobody can say without Redis.
            assert r.status_code == 503, r.text
            left = f"SRT publisher {show.session_id}/hi left"
            wait_until(lambda: left in a.log_text(), 45, f"A kicks\n{a.log_text()[-3000:]}")
        assert "other processes not told" in b.log_text()
        assert "passphrase of session" in a.log_text()
        assert a.alive() and b.alive()
