"""Two real backend processes, one PostgreSQL, one Redis: a session's video on both.

The director's `returnfeed send --cloud` publishes to the session's owner; an aiortc viewer
on the other process gets the program through that process's edge pull; a pull without the
deployment's token and a publisher on a process that does not own the session are refused;
after kill -9 of the owner the director's layers move to the other process by themselves
and a viewer there gets video again (docs/scale.md).
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tally import Role
from tests.cloud.gateway.helpers import (
    Show,
    live,
    new_show,
    publisher,
    run_async,
    watch_with_aiortc,
    whep_offer_sdp,
)
from tests.cloud.relay.peers import connect_peer
from tests.support.api import Director, register
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.haproxy import Haproxy
from tests.support.postgres import PostgresServer
from tests.support.procs import Proc, free_udp_port, wait_until
from tests.support.redis import RedisServer

srt = pytest.importorskip("media.srt")
from media.srt import (  # noqa: E402
    RejectReason,
    SrtOptions,
    SrtRejected,
    StreamId,
    connect,
    format_streamid,
)


@dataclass
class Deployment:
    a: CloudServer
    b: CloudServer
    work: Path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("scale")
    postgres = PostgresServer(work)
    redis = RedisServer(work)
    database = postgres.create_database("rf_scale")
    # One deployment: one signing secret, which the pull tokens derive from too.
    env = {"RETURNFEED_JWT_SECRET": secrets.token_urlsafe(32)}
    servers = []
    for name in ("backend-1", "backend-2"):
        (work / name).mkdir()
        args = [*RELAXED_RATES, "--redis-url", redis.url, "--process-id", name]
        servers.append(CloudServer(work / name, database, args, env, srt_port=free_udp_port()))
    try:
        yield Deployment(servers[0], servers[1], work)
    finally:
        for server in servers:
            server.stop()
        redis.stop()
        postgres.stop()


@dataclass
class Program:
    show: Show
    director: Director
    sender: Proc


@pytest.fixture(scope="module")
def program(deployment: Deployment) -> Iterator[Program]:
    """A session owned by A (its credentials read there first), on air from
    `returnfeed send` whose --cloud is B: the director's API calls may land anywhere."""
    a, b = deployment.a, deployment.b
    with a.client() as api:
        director = register(api)
        show = new_show(api, director)
    assert show.srt["srt_port"] == a.srt_port, show.srt
    log = deployment.work / "send.log"
    with publisher(show, show.srt["srt_port"], log, cloud=(b.base_url, director.access)) as proc:
        with a.client() as api:
            wait_until(lambda: live(api, show), 30, f"on air at A\n{proc.tail()}")
        yield Program(show, director, proc)


def srt_target(server: CloudServer, program: Program) -> dict[str, Any]:
    with server.client() as api:
        r = api.get(f"/api/sessions/{program.show.session_id}/srt", headers=program.director.auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def health(server: CloudServer) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{server.base_url}/api/health", timeout=5).json()
    return body


def test_every_process_sends_the_director_to_the_owner(
    deployment: Deployment, program: Program
) -> None:
    a = deployment.a
    for server in (deployment.a, deployment.b):
        assert srt_target(server, program)["srt_url"] == f"srt://127.0.0.1:{a.srt_port}"
    assert program.show.session_id in health(a)["scale"]["owns"]


def test_two_processes_asked_at_once_name_one_owner(deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    with a.client() as api:
        director = register(api)
        session = new_show(api, director).session_id

    def ask(server: CloudServer) -> str:
        with server.client() as api:
            r = api.get(f"/api/sessions/{session}/srt", headers=director.auth)
        assert r.status_code == 200, r.text
        return str(r.json()["srt_url"])

    with ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(ask, [a, b] * 8))
    assert len(answers) == 1, answers
    owners = [s for s in (a, b) if session in health(s)["scale"]["owns"]]
    assert len(owners) == 1 and answers == {f"srt://127.0.0.1:{owners[0].srt_port}"}


def test_a_viewer_on_the_other_process_gets_the_program(
    deployment: Deployment, program: Program
) -> None:
    b, show = deployment.b, program.show
    watched = run_async(watch_with_aiortc(b.base_url, show.session_id, show.viewer_token, 4.0))
    assert watched.status == 201, watched
    assert watched.video_frames > 30 and watched.audio_frames > 30, watched
    # The edge's first viewer starts on hi, not on whichever layer's pull connected first.
    assert watched.widths[0] == 640, watched.widths
    assert "edge pulls " + show.session_id in b.log_text()
    assert "edge 127.0.0.1" in deployment.a.log_text()  # the owner served the pull


def test_a_pull_without_the_deployments_token_is_refused(
    deployment: Deployment, program: Program
) -> None:
    a, show = deployment.a, program.show
    for token in ("not-the-pull-token", show.srt["publish_token"]):
        streamid = format_streamid(StreamId(show.session_id, "hi", token, "request"))
        options = SrtOptions(latency_ms=20, passphrase=show.srt["passphrase"], streamid=streamid)
        with pytest.raises(SrtRejected) as info:
            connect("127.0.0.1", a.srt_port or 0, options).close()
        assert info.value.reason_code == RejectReason.FORBIDDEN
    assert a.alive()
    assert "bad pull token" in a.log_text()


def test_a_publisher_on_a_process_that_does_not_own_the_session_is_refused(
    deployment: Deployment, program: Program
) -> None:
    b, show = deployment.b, program.show
    streamid = format_streamid(StreamId(show.session_id, "hi", show.srt["publish_token"]))
    options = SrtOptions(latency_ms=20, passphrase=show.srt["passphrase"], streamid=streamid)
    with pytest.raises(SrtRejected) as info:
        connect("127.0.0.1", b.srt_port or 0, options).close()
    assert info.value.reason_code == RejectReason.FORBIDDEN
    assert "another process owns this session's ingest" in b.log_text()


@pytest.fixture(scope="module")
def balancer(deployment: Deployment) -> Iterator[Haproxy]:
    """deploy/haproxy.cfg as shipped, in front of both processes."""
    a, b = deployment.a, deployment.b
    proxy = Haproxy(deployment.work, [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"])
    yield proxy
    proxy.stop()


def test_whep_through_the_balancer_lands_on_the_process_holding_the_viewer(
    deployment: Deployment, program: Program, balancer: Haproxy
) -> None:
    show = program.show
    direct = {"backend-1": deployment.a, "backend-2": deployment.b}
    offer = whep_offer_sdp()
    headers = {**show.viewer_auth, "Content-Type": "application/sdp"}
    held_by = []
    with httpx.Client(base_url=balancer.base_url, timeout=10) as api:
        for _ in range(4):
            r = api.post(f"/whep/{show.session_id}", content=offer, headers=headers)
            assert r.status_code == 201, r.text
            location = r.headers["location"]
            process = location.rsplit("/", 1)[1].split(".", 1)[0]
            held_by.append(process)
            # Straight to the process that does not hold it: it knows no such viewer.
            other = direct["backend-2" if process == "backend-1" else "backend-1"]
            with other.client() as wrong:
                assert wrong.delete(location, headers=show.viewer_auth).status_code == 404
            assert api.delete(location, headers=show.viewer_auth).status_code == 204
            assert api.delete(location, headers=show.viewer_auth).status_code == 404  # gone
    assert sorted(held_by) == ["backend-1", "backend-1", "backend-2", "backend-2"]


def test_whep_offers_spread_evenly_whatever_else_the_pages_ask(
    program: Program, balancer: Haproxy
) -> None:
    """The viewer page asks /whep/S/status before each offer (whep.js). With one round
    robin for every request, two processes and pages that ask status then offer, each
    offer took the turn after a status and every viewer landed on the same process (seen
    in bench/scale_viewers.py: all of a killed edge's viewers came back on one process).
    Offers have a round robin of their own."""
    show = program.show
    offer = whep_offer_sdp()
    headers = {**show.viewer_auth, "Content-Type": "application/sdp"}
    held_by = []
    with httpx.Client(base_url=balancer.base_url, timeout=10) as api:
        for _ in range(6):
            status = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
            assert status.status_code == 200, status.text
            r = api.post(f"/whep/{show.session_id}?mode=auto", content=offer, headers=headers)
            assert r.status_code == 201, r.text
            location = r.headers["location"]
            held_by.append(location.rsplit("/", 1)[1].split(".", 1)[0])
            # The link's viewers are limited (4): this one leaves before the next comes.
            assert api.delete(location, headers=show.viewer_auth).status_code == 204
    assert sorted(held_by) == ["backend-1"] * 3 + ["backend-2"] * 3, held_by


async def test_the_relay_websocket_and_the_api_go_through_the_balancer(
    program: Program, balancer: Haproxy
) -> None:
    show = program.show
    url = balancer.base_url.replace("http://", "ws://") + f"/api/relay/{show.session_id}"
    for _ in range(2):  # one on each process
        async with connect_peer(url, show.viewer_token, Role.VIEWER) as peer:
            assert peer.snapshot is not None
    async with httpx.AsyncClient(base_url=balancer.base_url) as api:
        r = await api.get(f"/api/sessions/{show.session_id}/srt", headers=program.director.auth)
    assert r.status_code == 200, r.text


def test_when_the_owner_dies_the_director_moves_and_viewers_get_video_again(
    deployment: Deployment, program: Program
) -> None:
    """Last in this module: it kills A."""
    a, b, show = deployment.a, deployment.b, program.show
    # A viewer on B (an edge now) watches across the failover on one peer connection.
    frames: list[float] = []
    stop = threading.Event()
    kept = ThreadPoolExecutor(1)
    watching = kept.submit(
        run_async,
        watch_with_aiortc(
            b.base_url,
            show.session_id,
            show.viewer_token,
            60,
            on_video=lambda _: frames.append(time.monotonic()),
            stop=stop,
        ),
    )
    wait_until(lambda: len(frames) > 10, 20, "the kept viewer watching")
    assert a.proc is not None
    a.proc.stop(signal.SIGKILL)
    resource = f"SRT publisher {show.session_id}/hi from"
    wait_until(
        lambda: resource in b.log_text() and show.session_id in health(b)["scale"]["owns"],
        30,
        f"the director's layers at B\n{program.sender.tail()}",
    )
    back = time.monotonic()
    assert srt_target(b, program)["srt_url"] == f"srt://127.0.0.1:{b.srt_port}"
    wait_until(lambda: sum(t > back for t in frames) > 30, 20, "the kept viewer resuming")
    stop.set()
    kept_watch = watching.result(timeout=30)
    kept.shutdown()
    assert kept_watch.status == 201 and kept_watch.location is not None
    watched = run_async(watch_with_aiortc(b.base_url, show.session_id, show.viewer_token, 4.0))
    assert watched.status == 201, watched
    assert watched.video_frames > 30 and watched.audio_frames > 30, watched
    assert "fetched the session's SRT credentials again" in program.sender.tail(200)
