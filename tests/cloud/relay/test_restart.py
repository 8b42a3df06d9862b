"""The tally state is stored: a restarted backend gives every phone the same state back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tally import BusChange, BusState, Camera, CamerasChange, Delta, Role, Snapshot
from tests.cloud.relay.peers import connect_peer, new_show
from tests.support.cloud import RELAXED_RATES, CloudServer

CAMERAS = (Camera(1, "Wide", "src1"), Camera(2, "Close", "src2"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}", RELAXED_RATES)
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


async def test_a_restart_keeps_the_state_and_the_seq(server: CloudServer) -> None:
    show = new_show(server, cameras=2)
    phone_token = show.token("camera", 2)
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, phone_token, Role.CAMERA, assign=2) as phone,
    ):
        await director.send(CamerasChange(CAMERAS, live_only=False))
        await phone.expect(Snapshot)
        await director.send(BusChange(program=("src2",), preview=("src1",)))
        delta = await phone.expect(Delta)
        server.stop()
        code, _ = await phone.closed()
        assert code == 1012  # uvicorn's "service restart": clients reconnect
    server.start()
    async with connect_peer(show.url, phone_token, Role.CAMERA, assign=2) as phone:
        assert phone.snapshot is not None
        assert phone.snapshot.seq == delta.seq
        assert phone.snapshot.state.cameras == CAMERAS
        assert phone.snapshot.state.bus == BusState(("src2",), ("src1",))
        async with connect_peer(show.url, show.director.access, Role.DIRECTOR) as director:
            await director.send(BusChange(program=("src1",), preview=()))
            assert (await phone.expect(Delta)).seq == delta.seq + 1
