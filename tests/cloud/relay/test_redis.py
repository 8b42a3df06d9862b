"""Two backend processes, one SQLite file, a real redis-server: one session across both."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from cloud.relay.redis_broker import PREFIX
from tally import (
    Ack,
    Assign,
    BusChange,
    BusState,
    Camera,
    CameraLamp,
    CamerasChange,
    Delta,
    Directors,
    Lamp,
    Role,
    Snapshot,
    TextMessage,
)
from tests.cloud.relay.peers import Show, connect_peer, metric, new_show
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import wait_until
from tests.support.redis import RedisServer

CAMERAS = (Camera(1, "Wide", "src1"), Camera(2, "Close", "src2"))
TAKEN_OVER = (4409, "another director took over this session")


@dataclass
class Pair:
    redis: RedisServer
    a: CloudServer
    b: CloudServer


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    work = tmp_path_factory.mktemp("relay-redis")
    redis = RedisServer(work)
    database = f"sqlite:///{work / 'returnfeed.db'}"
    args = [*RELAXED_RATES, "--redis-url", redis.url]
    # Processes of one deployment share the signing secret, or tokens work on one only.
    env = {"RETURNFEED_JWT_SECRET": secrets.token_urlsafe(32)}
    servers = []
    for name in ("a", "b"):
        (work / name).mkdir()
        servers.append(CloudServer(work / name, database, args, env))
    a, b = servers
    yield Pair(redis, a, b)
    for server in (a, b):
        assert server.alive(), server.log_text()[-3000:]
        server.stop()
    redis.stop()


@pytest.fixture(autouse=True)
def still_alive(pair: Pair) -> Iterator[None]:
    yield
    for server in (pair.a, pair.b):
        assert server.alive(), server.log_text()[-3000:]


def _on(show: Show, server: CloudServer) -> str:
    return server.base_url.replace("http://", "ws://") + f"/api/relay/{show.session_id}"


async def test_a_phone_on_one_process_follows_a_director_on_the_other(pair: Pair) -> None:
    show = new_show(pair.a, cameras=2)
    joined = show.join("camera", 2)
    participant = joined["participant"]["id"]
    async with (
        connect_peer(_on(show, pair.a), show.director.access, Role.DIRECTOR) as director,
        connect_peer(
            _on(show, pair.b), joined["participant_token"], Role.CAMERA, assign=2
        ) as phone,
    ):
        await director.send(CamerasChange(CAMERAS, live_only=False))
        assert (await phone.expect(Snapshot)).state.cameras == CAMERAS
        await director.expect(Snapshot)
        await director.send(BusChange(program=("src2",), preview=("src1",)))
        delta = await phone.expect(Delta)
        assert delta.bus == BusState(("src2",), ("src1",))
        assert delta.seq == (await director.expect(Delta)).seq
        # Messages and acks cross processes too.
        await director.send(TextMessage("m-9", 2, "Cam 2, tighter"))
        assert (await phone.expect(TextMessage)).id == "m-9"
        await phone.send(Ack("m-9", 2))
        assert await director.expect(Ack) == Ack("m-9", 2)
        await director.send(Assign(participant, 1))
        assert await phone.expect(Assign) == Assign(participant, 1)
    # A phone that joins on B later gets the state A made.
    async with connect_peer(_on(show, pair.b), show.token("viewer"), Role.VIEWER) as viewer:
        assert viewer.snapshot is not None and viewer.snapshot.seq == delta.seq


async def test_without_redis_each_process_serves_its_own_then_catches_up(pair: Pair) -> None:
    show = new_show(pair.a, cameras=2)
    url_a, url_b = _on(show, pair.a), _on(show, pair.b)
    async with (
        connect_peer(url_a, show.director.access, Role.DIRECTOR) as director,
        connect_peer(url_a, show.token("camera", 1), Role.CAMERA, assign=1) as near,
        connect_peer(url_b, show.token("camera", 2), Role.CAMERA, assign=2) as far,
    ):
        await director.send(CamerasChange(CAMERAS, live_only=False))
        for peer in (director, near, far):
            await peer.expect(Snapshot)
        pair.redis.stop()
        for server in (pair.a, pair.b):
            wait_until(lambda s=server: metric(s, "returnfeed_relay_broker_up") == 0, 10, "down")
        # Redis is gone: the director's own process still relays at once.
        await director.send(BusChange(program=("src1",), preview=()))
        missed = await near.expect(Delta)
        await far.quiet(0.3)
        pair.redis.start()
        # Back: the far process catches up with a snapshot of the newest state.
        caught_up = await far.expect(Snapshot, within=15)
        assert (caught_up.seq, caught_up.state.bus) == (missed.seq, BusState(("src1",), ()))
        await director.send(BusChange(program=("src2",), preview=()))
        assert (await far.expect(Delta)).seq == missed.seq + 1


async def test_directors_on_two_processes_see_each_other_and_one_takes_over_both(
    pair: Pair,
) -> None:
    show = new_show(pair.a, cameras=2)
    url_a, url_b = _on(show, pair.a), _on(show, pair.b)
    access, laptop = show.director.access, show.sign_in()  # two logins of one account
    stored = f"{PREFIX}{show.session_id}:directors"
    phone_token = show.token("camera", 1)
    with redis.Redis.from_url(pair.redis.url) as store:
        first_from = time.time()
        async with (
            connect_peer(url_a, access, Role.DIRECTOR) as first,
            connect_peer(url_a, phone_token, Role.CAMERA, assign=1) as phone,
        ):
            first_until = time.time()
            assert first.directors == Directors(1, None)
            # A's directors are in Redis before B's room opens and reads them.
            wait_until(lambda: store.hlen(stored) == 1, 10, "A's directors in Redis")
            second_from = time.time()
            async with connect_peer(url_b, laptop, Role.DIRECTOR) as second:
                second_until = time.time()
                assert second.directors is not None and second.directors.count == 2
                assert first_from <= (second.directors.since or 0) <= first_until
                told = await first.expect(Directors)
                assert told.count == 2
                assert second_from <= (told.since or 0) <= second_until
            assert await first.expect(Directors) == Directors(1, None)  # B's left
            async with connect_peer(url_b, laptop, Role.DIRECTOR) as second:
                assert second.directors is not None and second.directors.count == 2
                assert (await first.expect(Directors)).count == 2
                # A takeover on B closes B's other director and, through Redis, A's.
                async with connect_peer(url_b, access, Role.DIRECTOR, takeover=True) as new:
                    assert new.directors == Directors(1, None)
                    for director in (second, first):
                        assert await director.closed() == TAKEN_OVER
                    # A's room stays in Redis for its phone (the crew list), without directors.
                    wait_until(lambda: rooms_directing(store, stored) == 1, 10, "B's alone")
                    # A's phone follows the director that took over.
                    await new.send(CamerasChange(CAMERAS, live_only=False))
                    await phone.expect(Snapshot)
                    await new.send(BusChange(program=("src1",), preview=()))
                    assert CameraLamp(1, Lamp.PROGRAM) in (await phone.expect(Delta)).lamps


def rooms_directing(store: redis.Redis, key: str) -> int:
    """Rooms whose stored presence lists a director (a room with phones only is there too)."""
    return sum(1 for payload in store.hvals(key) if json.loads(payload)["logins"])


def _kill_hard(server: CloudServer) -> None:
    """kill -9, as tests/faults/chain.py does: no shutdown, so its directors stay in Redis."""
    assert server.proc is not None
    os.kill(server.proc.popen.pid, signal.SIGKILL)
    server.proc.popen.wait(10)
    server.proc.stop()  # only closes the log now


async def test_a_director_back_on_a_restarted_process_is_not_its_own_second_director(
    pair: Pair,
) -> None:
    """The soak's finding: the killed process's record of the director stays valid for the
    relay's timeout after its last heartbeat, and used to count as "another director"."""
    show = new_show(pair.a, cameras=2)
    url_a, url_b = _on(show, pair.a), _on(show, pair.b)
    access = show.director.access
    stored = f"{PREFIX}{show.session_id}:directors"
    with redis.Redis.from_url(pair.redis.url) as store:
        async with connect_peer(url_a, access, Role.DIRECTOR) as director:
            wait_until(lambda: store.hlen(stored) == 1, 10, "A's director in Redis")
            _kill_hard(pair.a)
            await director.closed()
        pair.a.start()
        (dead,) = store.hgetall(stored).values()
        assert json.loads(dead)["until"] > time.time() + 1, "the test came too late"
        # The same login reconnects to the restarted process: it is the only director.
        async with connect_peer(url_a, access, Role.DIRECTOR) as back:
            assert back.directors == Directors(1, None)
            # Another sign-in still counts, and the dead record does not count twice.
            async with connect_peer(url_b, show.sign_in(), Role.DIRECTOR) as laptop:
                assert laptop.directors is not None and laptop.directors.count == 2
                assert (await back.expect(Directors)).count == 2
            assert await back.expect(Directors) == Directors(1, None)


async def test_the_crew_list_on_one_process_sees_phones_on_the_other(pair: Pair) -> None:
    """The director's app polls whichever process the balancer picks: a phone on B is
    connected in A's list, with no client of the session on A and then with one."""
    from tests.cloud.relay.test_crew_presence import until_connected

    show = new_show(pair.a, cameras=2)
    joined = show.join("camera", 2)
    participant = joined["participant"]["id"]
    token = joined["participant_token"]
    async with connect_peer(_on(show, pair.b), token, Role.CAMERA, camera=2, assign=2):
        await until_connected(show, participant, base=pair.a.base_url)  # A has no room: Redis
        async with connect_peer(_on(show, pair.a), show.director.access, Role.DIRECTOR):
            await until_connected(show, participant, base=pair.a.base_url)  # A's room knows
    await until_connected(show, participant, want=False, base=pair.a.base_url)
