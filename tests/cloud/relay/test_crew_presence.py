"""Who is connected now, for the director's crew list (issue #15): the participants API
says, per participant, since when its phone (or a viewer link's tally page) has been on the
relay and when it last acknowledged, against real WebSocket clients of a real backend.
Across processes over Redis: tests/cloud/relay/test_redis.py."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx

from tally import Ack, Role, TextMessage
from tests.cloud.relay.peers import Show, connect_peer
from tests.support.api import bearer


async def crew(show: Show, base: str | None = None, token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.get(
            f"{base or show.server.base_url}/api/sessions/{show.session_id}/participants",
            headers=bearer(token or show.director.access),
        )


async def rows(show: Show, base: str | None = None) -> dict[str, dict[str, Any]]:
    r = await crew(show, base)
    assert r.status_code == 200, r.text
    return {p["id"]: p for p in r.json()}


async def until_connected(
    show: Show, participant: str, want: bool = True, base: str | None = None
) -> None:
    """Polls the list (what the director's app does every 5 s) until it says `want`."""
    deadline = asyncio.get_running_loop().time() + 5
    while asyncio.get_running_loop().time() < deadline:
        if ((await rows(show, base))[participant]["connected_since"] is not None) == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{participant} never read {'connected' if want else 'gone'}")


async def test_the_crew_list_says_who_is_connected_since_when_and_their_last_ack(
    show: Show,
) -> None:
    on = show.join("camera", 1)
    off = show.join("camera", 2)  # joined by its link, phone not open
    viewer = show.join("viewer")
    ids = on["participant"]["id"], off["participant"]["id"], viewer["participant"]["id"]
    before = datetime.now().astimezone()
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, on["participant_token"], Role.CAMERA, camera=1, assign=1) as phone,
        connect_peer(show.url, viewer["participant_token"], Role.VIEWER),
    ):
        await until_connected(show, ids[0])
        await until_connected(show, ids[2])
        listed = await rows(show)
        since = datetime.fromisoformat(listed[ids[0]]["connected_since"])
        assert since >= before.replace(microsecond=0), listed
        assert listed[ids[0]]["last_ack_at"] is None
        assert (listed[ids[1]]["connected_since"], listed[ids[1]]["last_ack_at"]) == (None, None)

        await director.send(TextMessage("m-1", 1, "Cam 1, wider"))
        await phone.expect(TextMessage)
        await phone.send(Ack("m-1", 1))
        await director.expect(Ack)
        acked = (await rows(show))[ids[0]]["last_ack_at"]
        assert acked is not None and datetime.fromisoformat(acked) >= since
    await until_connected(show, ids[0], want=False)
    await until_connected(show, ids[2], want=False)


async def test_a_phone_alone_on_the_relay_is_listed_and_the_list_is_the_owners(
    show: Show,
) -> None:
    on = show.join("camera", 3)
    participant = on["participant"]["id"]
    async with connect_peer(show.url, on["participant_token"], Role.CAMERA, camera=3, assign=3):
        await until_connected(show, participant)  # no director connected: still listed
        r = await crew(show, token=on["participant_token"])
        assert r.status_code in (401, 403), r.text
