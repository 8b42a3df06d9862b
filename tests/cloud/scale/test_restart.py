"""A process killed and started again (a new random process id, the same SRT address) takes
its sessions back at the director's first credentials read, without waiting out the lease
its earlier run left in Redis (docs/scale.md, Ownership)."""

from __future__ import annotations

import secrets
import signal
from pathlib import Path

from tests.cloud.gateway.helpers import live, new_show, publisher
from tests.cloud.scale.pair import health
from tests.support.api import register
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import free_udp_port, wait_until
from tests.support.redis import RedisServer

NOT_OWNER = "another process owns this session's ingest"


def test_a_restarted_process_takes_its_sessions_back_at_once(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    args = [*RELAXED_RATES, "--redis-url", redis.url]
    env = {"RETURNFEED_JWT_SECRET": secrets.token_urlsafe(32)}
    database = f"sqlite:///{tmp_path / 'returnfeed.db'}"
    server = CloudServer(tmp_path, database, args, env, srt_port=free_udp_port())
    try:
        with server.client() as api:
            director = register(api)
            show = new_show(api, director)
        assert server.srt_port is not None
        cloud = (server.base_url, director.access)
        log = tmp_path / "send.log"
        with publisher(show, server.srt_port, log, cloud=cloud) as sender:
            with server.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air\n{sender.tail()}")
            before = health(server)[1]["scale"]["process"]
            assert server.proc is not None
            server.proc.stop(signal.SIGKILL)
            seen = len(server.log_text())
            server.start()
            with server.client() as api:
                wait_until(lambda: live(api, show), 30, f"back on air\n{sender.tail()}")
            scale = health(server)[1]["scale"]
            assert scale["process"] != before and scale["owns"] == [show.session_id]
            # Each layer's first reconnect, before the app read the credentials again, may
            # be refused; none after (the old lease would have refused them for up to 6 s).
            assert server.log_text()[seen:].count(NOT_OWNER) <= 2, server.log_text()[seen:]
    finally:
        server.stop()
        redis.stop()
