"""The director's relay client against the real backend: send, receive, reconnect, re-send."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.relay_client import (
    Connected,
    Disconnected,
    RelayClient,
    RelayEvent,
    TokenRefused,
    TokenSource,
)
from app.session_link.cloud_api import CloudUnreachable
from tally import (
    Ack,
    Assign,
    BusState,
    Camera,
    Delta,
    Flash,
    Role,
    Snapshot,
    TextMessage,
)
from tests.cloud.relay.peers import Show, connect_peer, new_show
from tests.support.cloud import CloudServer

CAMERAS = (Camera(1, "Wide", "src1"), Camera(2, "Close", "src2"))
E = TypeVar("E", bound=RelayEvent)


def _run(scenario: Callable[[Show, RelayClient], Awaitable[None]], server: CloudServer) -> None:
    """Run `scenario` with a started client holding the director's token."""
    _run_with(server, lambda show: show.director.access, scenario)


async def _event(client: RelayClient, kind: type[E], within: float = 10) -> E:
    async with asyncio.timeout(within):
        while True:
            event = await client.next_event()
            if isinstance(event, kind):
                return event


def test_the_director_drives_phones_and_hears_back(server: CloudServer) -> None:
    _run(_drives_phones, server)


async def _drives_phones(show: Show, client: RelayClient) -> None:
    joined = show.join("camera", 2)
    await _event(client, Connected)
    async with connect_peer(show.url, joined["participant_token"], Role.CAMERA, assign=2) as phone:
        client.set_cameras(CAMERAS, live_only=False)
        client.set_bus(["src2"], ["src1"])
        assert (await phone.expect(Snapshot)).state.cameras == CAMERAS
        assert (await phone.expect(Delta)).bus == BusState(("src2",), ("src1",))
        message_id = client.send_message("Cam 2, go wide", camera=2)
        note = await phone.expect(TextMessage)
        assert (note.id, note.text) == (message_id, "Cam 2, go wide")
        await phone.send(Ack(message_id, 2))
        assert await _event(client, Ack) == Ack(message_id, 2)
        client.flash(2)
        assert await phone.expect(Flash) == Flash(2)
        client.assign(joined["participant"]["id"], 1)
        assert (await phone.expect(Assign)).camera == 1
        await asyncio.sleep(0.5)
        stats = client.stats
        assert stats.connected and stats.connects == 1
        assert stats.rtt_ms is not None and 0 < stats.rtt_ms < 1000
        assert stats.seq == 2


def test_after_a_restart_the_client_reconnects_and_sends_what_the_relay_lacks(
    server: CloudServer,
) -> None:
    _run(_survives_restarts, server)


async def _survives_restarts(show: Show, client: RelayClient) -> None:
    server = show.server
    phone_token = show.token("camera", 1)
    await _event(client, Connected)
    async with connect_peer(show.url, phone_token, Role.CAMERA, assign=1) as phone:
        client.set_cameras(CAMERAS, live_only=False)
        client.set_bus(["src1"], ["src2"])
        await phone.expect(Snapshot)
        await phone.expect(Delta)
    server.stop()
    gone = await _event(client, Disconnected)
    assert gone.retry_in is not None  # it will try again
    client.set_bus(["src2"], ["src1"])  # the director cuts while the backend is down
    server.start()
    back = await _event(client, Connected)
    assert back.seq == 2  # the stored state
    async with connect_peer(show.url, phone_token, Role.CAMERA, assign=1) as phone:
        assert phone.snapshot is not None
        if phone.snapshot.seq == 2:  # joined before the re-sent cut arrived
            assert (await phone.expect(Delta)).seq == 3
        else:
            assert phone.snapshot.seq == 3
            assert phone.snapshot.state.bus == BusState(("src2",), ("src1",))
    # A restart with nothing changed re-sends nothing: every phone keeps seq 3.
    server.stop()
    await _event(client, Disconnected)
    server.start()
    assert (await _event(client, Connected)).seq == 3
    async with connect_peer(show.url, phone_token, Role.CAMERA, assign=1) as phone:
        assert phone.snapshot is not None and phone.snapshot.seq == 3
        await phone.quiet(0.3)
    assert client.stats.connects == 3


def _run_with(
    server: CloudServer,
    token: Callable[[Show], TokenSource],
    scenario: Callable[[Show, RelayClient], Awaitable[None]],
    backoff_s: tuple[float, float] = (0.1, 0.4),
) -> None:
    """Run `scenario` with a started client, on an event loop of its own thread, its token
    source and backoff chosen by the test.

    pytest-asyncio would use the main thread, where Playwright's sync API (tests/cloud/web)
    keeps a loop running for the whole test session once its browser has started.
    """
    show = new_show(server, cameras=2)

    async def main() -> None:
        client = RelayClient(show.url, token(show), heartbeat_s=0.2, backoff_s=backoff_s)
        await client.start()
        try:
            await scenario(show, client)
        finally:
            await client.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, main()).result()


def test_a_token_source_that_fails_oddly_is_retried_until_it_works(server: CloudServer) -> None:
    """A failed refresh (timeout, 5xx) or a bug in the token source is one more failure
    to retry, never the end of the link (Tally Arbiter #132, #532)."""
    failures = [RuntimeError("a bug in the token source"), CloudUnreachable("the network")]

    def token(show: Show) -> TokenSource:
        async def source() -> str:
            if failures:
                raise failures.pop(0)
            return show.director.access

        return source

    async def scenario(show: Show, client: RelayClient) -> None:
        first = await _event(client, Disconnected)
        second = await _event(client, Disconnected)
        assert "bug in the token source" in first.reason and first.retry_in is not None
        assert "network" in second.reason and second.retry_in is not None
        await _event(client, Connected)

    _run_with(server, token, scenario)


def test_a_refused_token_source_stops_the_link_and_says_why(server: CloudServer) -> None:
    def token(show: Show) -> TokenSource:
        async def source() -> str:
            raise TokenRefused("this login has ended; log in again")

        return source

    async def scenario(show: Show, client: RelayClient) -> None:
        gone = await _event(client, Disconnected)
        assert gone.retry_in is None and "log in again" in gone.reason

    _run_with(server, token, scenario)


def test_reconnect_now_skips_a_backoff_set_before_a_suspend(server: CloudServer) -> None:
    """After a wake the link tries at once instead of sleeping out a 30 s timer."""

    async def scenario(show: Show, client: RelayClient) -> None:
        await _event(client, Connected)
        show.server.stop()
        gone = await _event(client, Disconnected)
        assert gone.retry_in is not None and gone.retry_in > 20  # a long wait begins
        show.server.start()
        client.reconnect_now()
        await _event(client, Connected, within=10)  # far less than the 30 s backoff

    _run_with(server, lambda show: show.director.access, scenario, backoff_s=(30.0, 30.0))
