"""A process dies behind haproxy (deploy/haproxy.cfg as shipped): viewers' WHEP offers
right after still get an answer at once, from a live process.

Two real backend processes (one SQLite file, one Redis), the director's `returnfeed send`
on the owner (A), and an HTTP client that keeps its connection to haproxy, as a page does.
After kill -9 of B (an edge) and before haproxy's health checks mark it down (1-2 s), an
offer the round robin gives B used to fail: the first on haproxy's idle connection to B with
502 (B closed it without an answer), the next after 3 s with 503 (three connection
attempts to B, one second apart). Found while measuring kills for bench/scale_viewers.py.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloud.gateway.helpers import live, new_show, publisher, whep_offer_sdp
from tests.support.api import register
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.haproxy import Haproxy
from tests.support.procs import free_udp_port, wait_until
from tests.support.redis import RedisServer

pytest.importorskip("media.srt")


@pytest.fixture
def two_behind_haproxy(tmp_path: Path) -> Iterator[tuple[CloudServer, CloudServer, Haproxy]]:
    redis = RedisServer(tmp_path)
    database = f"sqlite:///{tmp_path / 'returnfeed.db'}"
    env = {"RETURNFEED_JWT_SECRET": secrets.token_urlsafe(32)}
    servers: list[CloudServer] = []
    proxy = None
    try:
        for name in ("backend-1", "backend-2"):
            (tmp_path / name).mkdir()
            args = [*RELAXED_RATES, "--redis-url", redis.url, "--process-id", name]
            args += ["--max-viewers-per-token", "100"]
            servers.append(CloudServer(tmp_path / name, database, args, env, free_udp_port()))
        a, b = servers
        proxy = Haproxy(tmp_path, [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"])
        yield a, b, proxy
    finally:
        if proxy is not None:
            proxy.stop()
        for server in servers:
            server.stop()
        redis.stop()


def test_offers_right_after_a_process_dies_are_answered_by_a_live_one(
    tmp_path: Path, two_behind_haproxy: tuple[CloudServer, CloudServer, Haproxy]
) -> None:
    a, b, proxy = two_behind_haproxy
    with a.client() as api:
        director = register(api)
        show = new_show(api, director)  # read at A: A owns the session
    offer = whep_offer_sdp()
    headers = {**show.viewer_auth, "Content-Type": "application/sdp"}
    with publisher(show, show.srt["srt_port"], tmp_path / "send.log") as sender:
        with a.client() as api:
            wait_until(lambda: live(api, show), 30, f"on air at A\n{sender.tail()}")
        with httpx.Client(base_url=proxy.base_url, timeout=30) as page:
            held = []
            for _ in range(4):  # both processes serve (B pulls from A); haproxy keeps idle
                r = page.post(f"/whep/{show.session_id}", content=offer, headers=headers)
                assert r.status_code == 201, r.text
                held.append(r.headers["location"].rsplit("/", 1)[1].split(".", 1)[0])
            assert sorted(held) == ["backend-1", "backend-1", "backend-2", "backend-2"]
            assert b.proc is not None
            b.proc.stop(signal.SIGKILL)
            answers = []
            for _ in range(6):  # within haproxy's 1-2 s to see B down
                started = time.monotonic()
                r = page.post(f"/whep/{show.session_id}", content=offer, headers=headers)
                answers.append((r.status_code, round(time.monotonic() - started, 2)))
                assert r.status_code == 201, (answers, r.text)
                assert "/backend-1." in r.headers["location"]
            assert all(took < 1.0 for _, took in answers), answers
