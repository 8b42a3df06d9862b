"""Viewers cannot make the director's encoder cut IDR after IDR: the relay passes on one
keyframe request per layer per half second, whoever asks, and one invite token keeps a
handful of sockets at most."""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import AsyncExitStack

from cloud.relay.keyframes import KEYFRAME_MIN_INTERVAL_S
from cloud.relay.room import MAX_SOCKETS_PER_PARTICIPANT
from tally import KeyframeRequest, Role, Snapshot, SnapshotRequest
from tests.cloud.relay.peers import Peer, Show, connect_peer, metric
from tests.support.cloud import CloudServer

VIEWERS = 3
REQUESTS_EACH = 40


async def _flood(viewer: Peer, layer: str | None) -> None:
    for n in range(REQUESTS_EACH):
        await viewer.send(KeyframeRequest(layer, f"lost picture {n}"))  # type: ignore[arg-type]
    # The reply comes after the room has handled every request before it (one inbox).
    await viewer.send(SnapshotRequest(None))
    while not isinstance(await viewer.recv(), Snapshot):
        pass


async def _received_by(director: Peer) -> list[KeyframeRequest]:
    """What reached the director before its own snapshot request was answered."""
    await director.send(SnapshotRequest(None))
    got = []
    while not isinstance(message := await director.recv(), Snapshot):
        assert isinstance(message, KeyframeRequest), message
        got.append(message)
    return got


async def test_a_flood_of_keyframe_requests_reaches_the_director_throttled(
    show: Show, lenient_server: CloudServer
) -> None:
    throttled = metric(lenient_server, "returnfeed_relay_keyframe_requests_throttled_total")
    async with AsyncExitStack() as stack:
        director = await stack.enter_async_context(
            connect_peer(show.url, show.director.access, Role.DIRECTOR)
        )
        viewers = [
            await stack.enter_async_context(
                connect_peer(show.url, show.token("viewer"), Role.VIEWER)
            )
            for _ in range(VIEWERS)
        ]
        started = time.monotonic()
        await asyncio.gather(*(_flood(v, "lo") for v in viewers))
        await _flood(viewers[0], None)  # both layers: each still once per interval
        elapsed = time.monotonic() - started
        got = await _received_by(director)
    sent = VIEWERS * REQUESTS_EACH + REQUESTS_EACH
    # One per interval per layer, the first at once: what the elapsed time allows at most.
    allowed = 2 * (1 + math.ceil(elapsed / KEYFRAME_MIN_INTERVAL_S))
    assert 1 <= len(got) <= allowed < sent, (len(got), allowed, elapsed)
    assert got[0] == KeyframeRequest("lo", "lost picture 0")
    after = metric(lenient_server, "returnfeed_relay_keyframe_requests_throttled_total")
    assert after - throttled == sent - len(got)


async def test_one_token_keeps_at_most_a_few_sockets_the_oldest_go(show: Show) -> None:
    token = show.token("viewer")
    extra = 2
    async with AsyncExitStack() as stack:
        peers = [
            await stack.enter_async_context(connect_peer(show.url, token, Role.VIEWER))
            for _ in range(MAX_SOCKETS_PER_PARTICIPANT + extra)
        ]
        for oldest in peers[:extra]:
            code, reason = await oldest.closed()
            assert code == 4430 and "newer connections" in reason, (code, reason)
        for kept in peers[extra:]:  # still served
            await kept.send(SnapshotRequest(None))
            assert isinstance(await kept.expect(Snapshot), Snapshot)
        # Another viewer's token is not affected.
        async with connect_peer(show.url, show.token("viewer"), Role.VIEWER) as other:
            await other.send(SnapshotRequest(None))
            await other.expect(Snapshot)
