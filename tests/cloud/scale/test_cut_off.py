"""An edge that cannot reach a session's owner, whose lease holds, is not ready: a balancer
sends viewers to a process that can serve the video (docs/scale.md, Readiness)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.cloud.gateway.helpers import new_show
from tests.support.api import register
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import free_udp_port, wait_until
from tests.support.redis import RedisServer


@pytest.fixture
def pair(tmp_path: Any) -> Iterator[tuple[CloudServer, CloudServer]]:
    redis = RedisServer(tmp_path)
    database = f"sqlite:///{tmp_path / 'returnfeed.db'}"
    env = {"RETURNFEED_JWT_SECRET": secrets.token_urlsafe(32)}
    # A's advertised SRT address is wrong (nothing listens there): B cannot pull from it.
    nowhere = f"127.0.0.1:{free_udp_port()}"
    servers = []
    for name, extra in (("one", ["--srt-advertise", nowhere]), ("two", [])):
        (tmp_path / name).mkdir()
        args = [*RELAXED_RATES, "--redis-url", redis.url, "--process-id", name, *extra]
        servers.append(CloudServer(tmp_path / name, database, args, env))
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()
        redis.stop()


def health(server: CloudServer) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{server.base_url}/api/health", timeout=5)
    return r.status_code, r.json()


def test_an_edge_cut_off_from_a_live_owner_is_not_ready(
    pair: tuple[CloudServer, CloudServer],
) -> None:
    a, b = pair
    with a.client() as api:
        director = register(api)
        show = new_show(api, director)  # reads the credentials at A: A owns the session
    assert health(a)[1]["scale"]["owns"] == [show.session_id]

    def cut_off() -> bool:
        # A viewer's page polling B keeps B trying to pull.
        with b.client() as api:
            assert api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth).is_success
        return health(b)[0] == 503

    wait_until(cut_off, 40, f"B not ready\n{b.log_text()[-2000:]}")
    status, body = health(b)
    assert status == 503, body
    assert body["scale"]["cut_off"] == [show.session_id]
    assert f"cannot pull sessions {show.session_id} from their owner" in body["problems"]
    assert health(a)[0] == 200  # the owner serves
    assert b.alive() and "edge pull of" in b.log_text()
