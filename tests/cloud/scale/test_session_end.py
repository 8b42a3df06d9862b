"""A session ended through another process goes off air at its owner too: the owner finds
it ended at its next credentials refresh (every 30 s), closes its publishers and gives up its
lease (docs/scale.md, Ownership)."""

from __future__ import annotations

from pathlib import Path

from tests.cloud.gateway.helpers import live, new_show, publisher
from tests.cloud.scale.pair import health, two_processes
from tests.support.api import register
from tests.support.procs import wait_until


def test_a_session_ended_on_another_process_leaves_its_owner(tmp_path: Path) -> None:
    with two_processes(tmp_path) as (_, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # A owns the session
        assert a.srt_port is not None
        with publisher(show, a.srt_port, tmp_path / "send.log", layers="hi") as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air\n{sender.tail()}")
            with b.client() as api:
                r = api.post(f"/api/sessions/{show.session_id}/end", headers=director.auth)
                assert r.status_code == 200, r.text
            wait_until(
                lambda: health(a)[1]["scale"]["owns"] == [], 45, f"A gives up\n{a.log_text()}"
            )
            with a.client() as api:
                assert not live(api, show)
        assert f"SRT publisher {show.session_id}/hi left" in a.log_text()
