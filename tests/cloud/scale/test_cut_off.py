"""An edge that cannot reach a session's owner, whose lease holds, is not ready: a balancer
sends viewers to a process that can serve the video (docs/scale.md, Readiness)."""

from __future__ import annotations

from pathlib import Path

from tests.cloud.gateway.helpers import new_show
from tests.cloud.scale.pair import health, two_processes
from tests.support.api import register
from tests.support.procs import free_udp_port, wait_until


def test_an_edge_cut_off_from_a_live_owner_is_not_ready(tmp_path: Path) -> None:
    # One's advertised SRT address is wrong (nothing listens there): two cannot pull from it.
    nowhere = f"127.0.0.1:{free_udp_port()}"
    with two_processes(tmp_path, ["--srt-advertise", nowhere]) as (_, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # reads the credentials at A: A owns the session
        assert health(a)[1]["scale"]["owns"] == [show.session_id]

        def cut_off() -> bool:
            # A viewer's page polling B keeps B trying to pull.
            with b.client() as api:
                r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
                assert r.is_success, r.text
            return health(b)[0] == 503

        wait_until(cut_off, 40, f"B not ready\n{b.log_text()[-2000:]}")
        status, body = health(b)
        assert status == 503, body
        assert body["scale"]["cut_off"] == [show.session_id]
        assert f"cannot pull sessions {show.session_id} from their owner" in body["problems"]
        assert health(a)[0] == 200  # the owner serves
        assert b.alive() and "edge pull of" in b.log_text()
