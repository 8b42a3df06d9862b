"""A second director is shown to every director, and one can take the session over.

Directors are counted per login: a second laptop signs in on its own (`Show.sign_in`),
while two connections with one access token are the same director.
"""

from __future__ import annotations

import time

from tally import (
    BusChange,
    Camera,
    CameraLamp,
    CamerasChange,
    Delta,
    Directors,
    Lamp,
    Role,
    Snapshot,
    SnapshotRequest,
)
from tests.cloud.relay.peers import Peer, Show, connect_peer, metric

CAMERAS = (Camera(1, "Wide", "src1"), Camera(2, "Close", "src2"), Camera(3, "Jib", None))
TAKEN_OVER = (4409, "another director took over this session")


async def _nothing_before_a_snapshot(peer: Peer) -> None:
    """The next thing `peer` gets is the snapshot it asks for now: nothing else was queued."""
    await peer.send(SnapshotRequest(None))
    await peer.expect(Snapshot)


async def test_each_director_is_told_how_many_direct_and_since_when(show: Show) -> None:
    async with connect_peer(show.url, show.token("camera", 1), Role.CAMERA, assign=1) as phone:
        first_from = time.time()
        async with connect_peer(show.url, show.director.access, Role.DIRECTOR) as first:
            first_until = time.time()
            assert first.directors == Directors(1, None)
            laptop = show.sign_in()
            second_from = time.time()
            async with connect_peer(show.url, laptop, Role.DIRECTOR) as second:
                second_until = time.time()
                # Each is told of the other, with the other's join time.
                assert second.directors is not None and second.directors.count == 2
                assert first_from <= (second.directors.since or 0) <= first_until
                told = await first.expect(Directors)
                assert told.count == 2
                assert second_from <= (told.since or 0) <= second_until
            # The second left: the first is alone again.
            assert await first.expect(Directors) == Directors(1, None)
            await _nothing_before_a_snapshot(first)  # and told only once
        # Phones are never told about directors.
        await _nothing_before_a_snapshot(phone)


async def test_the_count_says_since_when_the_longest_connected_other_is_there(
    show: Show,
) -> None:
    second_login, third_login = show.sign_in(), show.sign_in()
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as first,
        connect_peer(show.url, second_login, Role.DIRECTOR) as second,
    ):
        joined_second = (await first.expect(Directors)).since
        assert second.directors is not None
        joined_first = second.directors.since
        async with connect_peer(show.url, third_login, Role.DIRECTOR) as third:
            assert third.directors == Directors(3, joined_first)
            assert await second.expect(Directors) == Directors(3, joined_first)
            assert await first.expect(Directors) == Directors(3, joined_second)


async def test_connections_of_one_login_are_one_director(show: Show) -> None:
    """A director's own second connection (a reconnect whose old socket the relay has not yet
    closed) is not "another director"; a second sign-in is, from its earliest connection."""
    access = show.director.access
    async with connect_peer(show.url, access, Role.DIRECTOR) as first:
        async with connect_peer(show.url, access, Role.DIRECTOR) as again:
            assert again.directors == Directors(1, None)
            await _nothing_before_a_snapshot(first)  # still 1: nothing to tell
            laptop = show.sign_in()
            laptop_from = time.time()
            async with (
                connect_peer(show.url, laptop, Role.DIRECTOR) as other,
                connect_peer(show.url, laptop, Role.DIRECTOR) as other_again,
            ):
                laptop_until = time.time()
                for director in (first, again):
                    told = await director.expect(Directors)
                    assert told.count == 2  # the laptop's two connections count once
                    assert laptop_from <= (told.since or 0) <= laptop_until
                    await _nothing_before_a_snapshot(director)
                assert other.directors is not None and other.directors.count == 2
                assert other_again.directors == other.directors  # the first login's earliest
        # The laptop and the second connection left.
        assert await first.expect(Directors) == Directors(1, None)


async def test_a_takeover_closes_the_other_directors_and_the_phones_keep_tally(
    show: Show,
) -> None:
    closed_before = metric(show.server, "returnfeed_relay_closed_total", code="4409")
    async with (
        connect_peer(show.url, show.token("camera", 2), Role.CAMERA, assign=2) as phone,
        connect_peer(show.url, show.sign_in(), Role.DIRECTOR) as old,
        # The taker's own login too: a takeover closes every other connection.
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as older,
    ):
        await old.send(CamerasChange(CAMERAS, live_only=False))
        await phone.expect(Snapshot)
        # A phone asking for a takeover takes nothing over: the capability is a director's.
        async with connect_peer(
            show.url, show.token("camera", 3), Role.CAMERA, assign=3, takeover=True
        ):
            await old.send(BusChange(program=("src1",), preview=("src2",)))
            assert CameraLamp(2, Lamp.PREVIEW) in (await phone.expect(Delta)).lamps
        async with connect_peer(
            show.url, show.director.access, Role.DIRECTOR, takeover=True
        ) as new:
            assert new.directors == Directors(1, None)
            for director in (old, older):
                assert await director.closed() == TAKEN_OVER
            await new.send(BusChange(program=("src2",), preview=()))
            delta = await phone.expect(Delta)
            assert delta.seq == 3 and CameraLamp(2, Lamp.PROGRAM) in delta.lamps
    closed = metric(show.server, "returnfeed_relay_closed_total", code="4409")
    assert closed == closed_before + 2


async def test_directors_is_the_relays_to_send(show: Show) -> None:
    async with connect_peer(show.url, show.director.access, Role.DIRECTOR) as director:
        await director.send(Directors(1, None))
        await director.expect_error("forbidden")
        await director.send('{"v":1,"type":"directors","count":2,"since":null}')
        error = await director.expect_error("bad_message")
        assert error.message == "directors.since: expected a time when count is 2"
