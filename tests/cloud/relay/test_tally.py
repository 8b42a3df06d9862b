"""Snapshot on hello, numbered deltas, recovery from a gap, and camera list changes."""

from __future__ import annotations

from tally import (
    BusChange,
    BusState,
    Camera,
    CameraLamp,
    CamerasChange,
    Delta,
    Lamp,
    Role,
    Snapshot,
    SnapshotRequest,
    derive_lamps,
)
from tests.cloud.relay.peers import Show, connect_peer

CAMERAS = (Camera(1, "Wide", "src1"), Camera(2, "Close", "src2"), Camera(3, "Jib", None))


async def test_snapshot_then_numbered_deltas_to_every_client(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("camera", 2), Role.CAMERA, assign=2) as phone,
        connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer,
    ):
        assert phone.snapshot is not None and phone.snapshot.seq == 0
        await director.send(CamerasChange(CAMERAS, live_only=False))
        for peer in (director, phone, viewer):
            snapshot = await peer.expect(Snapshot)
            assert snapshot.seq == 1 and snapshot.state.cameras == CAMERAS
        await director.send(BusChange(program=("src2",), preview=("src1",)))
        for peer in (director, phone, viewer):
            delta = await peer.expect(Delta)
            assert delta.seq == 2
            assert delta.bus == BusState(("src2",), ("src1",))
            assert set(delta.lamps) == {CameraLamp(1, Lamp.PREVIEW), CameraLamp(2, Lamp.PROGRAM)}
        # Only the lamps that changed travel; re-sending the same bus is no change at all.
        await director.send(BusChange(program=("src2",), preview=("src3",)))
        delta = await phone.expect(Delta)
        assert (delta.seq, delta.lamps) == (3, (CameraLamp(1, Lamp.OFF),))
        await director.send(BusChange(program=("src2",), preview=("src3",)))
        await phone.quiet(0.3)


async def test_a_client_that_saw_a_gap_asks_for_a_snapshot(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer,
    ):
        await director.send(CamerasChange(CAMERAS, live_only=True))
        await viewer.expect(Snapshot)
        for program in ("src1", "src2", "src1"):
            await director.send(BusChange(program=(program,), preview=("src2",)))
        seqs = [(await viewer.expect(Delta)).seq for _ in range(3)]
        assert seqs == [2, 3, 4]
        # Pretend delta 3 never arrived.
        await viewer.send(SnapshotRequest(last_seq=2))
        snapshot = await viewer.expect(Snapshot)
        assert snapshot.seq == 4
        state = snapshot.state
        assert snapshot.lamps == derive_lamps(state.bus, state.cameras, state.live_only)
        # live_only: camera 2 is on preview, and shows off.
        assert snapshot.lamps == (CameraLamp(1, Lamp.PROGRAM), *_off(2, 3))


def _off(*cameras: int) -> tuple[CameraLamp, ...]:
    return tuple(CameraLamp(n, Lamp.OFF) for n in cameras)


async def test_a_camera_list_change_is_a_snapshot_for_everyone(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("camera", 3), Role.CAMERA, assign=3) as phone,
    ):
        await director.send(CamerasChange(CAMERAS, live_only=False))
        await phone.expect(Snapshot)
        await director.send(BusChange(program=("src1",), preview=()))
        await phone.expect(Delta)
        await director.send(CamerasChange(CAMERAS[:2], live_only=False))
        snapshot = await phone.expect(Snapshot)
        assert [c.number for c in snapshot.state.cameras] == [1, 2]
        assert snapshot.state.bus == BusState(("src1",), ())  # the bus survives the change


async def test_camera_edits_through_the_api_reach_the_room(show: Show) -> None:
    base = f"/api/sessions/{show.session_id}/cameras"
    async with connect_peer(show.url, show.director.access, Role.DIRECTOR) as director:
        await director.send(CamerasChange(CAMERAS, live_only=False))
        await director.expect(Snapshot)
        with show.http() as c:
            r = c.patch(f"{base}/2", json={"name": "Steadicam"}, headers=show.director.auth)
            assert r.status_code == 200
        snapshot = await director.expect(Snapshot)
        # The new name; the director's source mapping stays.
        assert snapshot.state.cameras[1] == Camera(2, "Steadicam", "src2")
        with show.http() as c:
            body = {"number": 7, "name": "Drone", "ndi_source": "HOST (Drone)"}
            assert c.post(base, json=body, headers=show.director.auth).status_code == 201
            assert c.delete(f"{base}/1", headers=show.director.auth).status_code == 204
        await director.expect(Snapshot)
        snapshot = await director.expect(Snapshot)
        assert [(c.number, c.source) for c in snapshot.state.cameras] == [
            (2, "src2"),
            (3, None),
            (7, "HOST (Drone)"),
        ]
    # A room with nobody in it still takes the edit, for whoever joins next.
    with show.http() as c:
        assert c.delete(f"{base}/7", headers=show.director.auth).status_code == 204
    async with connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer:
        assert viewer.snapshot is not None
        assert [c.number for c in viewer.snapshot.state.cameras] == [2, 3]


async def test_roles_are_checked_on_every_message(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("camera", 1), Role.CAMERA, assign=1) as phone,
        connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer,
    ):
        await phone.send(BusChange(program=("src1",), preview=()))
        error = await phone.expect_error("forbidden")
        assert error.message == "a camera may not send bus"
        await viewer.send(CamerasChange((), live_only=True))
        await viewer.expect_error("forbidden")
        await director.send('{"v":1,"type":"ack","id":"m1","camera":1}')
        await director.expect_error("forbidden")
        await phone.send(snapshot_of_nothing())
        await phone.expect_error("forbidden")
        # Still connected, and nothing changed.
        await phone.send(SnapshotRequest(last_seq=None))
        assert (await phone.expect(Snapshot)).seq == 0


def snapshot_of_nothing() -> str:
    return (
        '{"v":1,"type":"snapshot","seq":9,"state":{"bus":{"program":[],"preview":[]},'
        '"cameras":[],"live_only":false},"lamps":[]}'
    )
