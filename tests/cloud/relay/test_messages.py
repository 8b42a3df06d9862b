"""Director → phone text with acks back, flash, assign, a phone's own camera choice, keyframes."""

from __future__ import annotations

from tally import (
    Ack,
    Assign,
    Flash,
    KeyframeRequest,
    Role,
    TextMessage,
)
from tests.cloud.relay.peers import Show, connect_peer
from tests.support.procs import wait_until


def _participants(show: Show) -> dict[str, int | None]:
    with show.http() as c:
        r = c.get(f"/api/sessions/{show.session_id}/participants", headers=show.director.auth)
        return {p["id"]: p["camera_number"] for p in r.json() if p["role"] == "camera"}


def _stored_camera(show: Show, participant: str, camera: int) -> None:
    """The relay stores a phone's choice in the background: give it a moment."""
    wait_until(lambda: _participants(show)[participant] == camera, 5, f"camera {camera} stored")


async def test_a_text_reaches_that_cameras_phones_and_the_ack_comes_back(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("camera", 2), Role.CAMERA, assign=2) as two,
        connect_peer(show.url, show.token("camera", 3), Role.CAMERA, assign=3) as three,
        connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer,
    ):
        note = TextMessage("m-1", 2, "Cam 2, go wide")
        await director.send(note)
        assert await two.expect(TextMessage) == note
        await two.send(Ack("m-1", camera=2))
        assert await director.expect(Ack) == Ack("m-1", 2)
        # The relay knows which camera a phone is; a phone cannot ack for another.
        await three.send(Ack("m-1", camera=2))
        assert await director.expect(Ack) == Ack("m-1", 3)
        everyone = TextMessage("m-2", None, "Stand by")
        await director.send(everyone)
        assert await two.expect(TextMessage) == everyone
        assert await three.expect(TextMessage) == everyone
        await viewer.quiet(0.2)  # texts are for camera operators
        await director.send(TextMessage("m-3", 9, "nobody"))
        await director.expect_error("unknown_camera")


async def test_flash_goes_to_one_camera_or_all(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("camera", 1), Role.CAMERA, assign=1) as one,
        connect_peer(show.url, show.token("camera", 2), Role.CAMERA, assign=2) as two,
    ):
        await director.send(Flash(2))
        assert await two.expect(Flash) == Flash(2)
        await one.quiet(0.2)
        await director.send(Flash(None))
        assert await one.expect(Flash) == Flash(None)
        assert await two.expect(Flash) == Flash(None)


async def test_assign_moves_a_phone_to_another_camera_and_is_stored(show: Show) -> None:
    joined = show.join("camera", 1)
    participant = joined["participant"]["id"]
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, joined["participant_token"], Role.CAMERA, assign=1) as phone,
    ):
        await director.send(Assign(participant, 3))
        assert await phone.expect(Assign) == Assign(participant, 3)
        assert _participants(show)[participant] == 3
        # It is now camera 3's phone.
        await director.send(Flash(3))
        assert await phone.expect(Flash) == Flash(3)
        await director.send(Assign("nobody", 2))
        await director.expect_error("unknown_participant")
        await director.send(Assign(participant, 42))
        await director.expect_error("unknown_camera")
    # After a reconnect the phone is told its stored camera.
    async with connect_peer(show.url, joined["participant_token"], Role.CAMERA, assign=3):
        pass


async def test_a_phone_on_an_open_link_picks_its_camera_in_hello(show: Show) -> None:
    joined = show.join("camera")  # not bound to a camera
    participant = joined["participant"]["id"]
    token = joined["participant_token"]
    async with connect_peer(show.url, token, Role.CAMERA, camera=2, assign=2):
        pass
    _stored_camera(show, participant, 2)
    async with connect_peer(show.url, token, Role.CAMERA, camera=9, assign=2) as phone:
        await phone.expect_error("unknown_camera")
    # A link bound to camera 1 cannot pick camera 2; it stays camera 1's.
    bound = show.join("camera", 1)
    async with connect_peer(
        show.url, bound["participant_token"], Role.CAMERA, camera=2, assign=1
    ) as phone:
        error = await phone.expect_error("bound")
        assert error.message == "this link is bound to camera 1"
    assert _participants(show)[bound["participant"]["id"]] == 1


async def test_a_viewers_keyframe_request_reaches_the_director(show: Show) -> None:
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer,
    ):
        request = KeyframeRequest("lo", "new viewer")
        await viewer.send(request)
        assert await director.expect(KeyframeRequest) == request
