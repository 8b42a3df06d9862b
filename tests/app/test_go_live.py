"""Going live against the real backend: log in, pick the session, phones follow the cuts.

`returnfeed-cloud` runs as a process on loopback; the phones are WebSocket clients with
participant tokens from real invites, exactly as the phone page connects.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from app.engine.commands import Cut, MapCamera, SetPreview
from app.session_link import events as ev
from tally import Delta, Lamp, Role, Snapshot
from tests.app.live import director_runtime
from tests.cloud.relay.peers import Peer, Show, connect_peer
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer


async def lamp_becomes(phone: Peer, camera: int, lamp: Lamp, within: float = 10.0) -> None:
    """Read snapshots and deltas until this phone's camera shows `lamp`."""
    current = None
    if phone.snapshot is not None:
        current = {e.camera: e.lamp for e in phone.snapshot.lamps}.get(camera)
    async with asyncio.timeout(within):
        while current != lamp:
            message = await phone.recv(within)
            if isinstance(message, Snapshot | Delta):
                current = {e.camera: e.lamp for e in message.lamps}.get(camera, current)


def test_go_live_lights_the_phones_from_the_engine(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Evening show", cameras=2)
    show = Show(server, director, session["id"])
    with director_runtime(server, director) as (rt, seen):
        assert isinstance(seen.wait_for(ev.SessionsListed), ev.SessionsListed)
        rt.call(lambda link: link.choose_session(session["id"])).result(20)
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        assert chosen.srt.passphrase and chosen.srt.session_id == session["id"]
        roles = sorted((i.role, i.camera_number or 0) for i in chosen.invites)
        assert roles == [("camera", 1), ("camera", 2), ("viewer", 0)]
        assert [c.number for c in rt.state.cameras] == [1, 2]
        rt.submit(MapCamera(1, "test-1")).result(5)
        rt.submit(MapCamera(2, "test-2")).result(5)
        rt.call(lambda link: link.go_live()).result(20)
        live = seen.wait_for(ev.LiveChanged)
        assert isinstance(live, ev.LiveChanged) and live.live

        async def phones() -> None:
            token1, token2 = show.token("camera", 1), show.token("camera", 2)
            async with (
                connect_peer(show.url, token1, Role.CAMERA, assign=1, beat=0.5) as cam1,
                connect_peer(show.url, token2, Role.CAMERA, assign=2, beat=0.5) as cam2,
            ):
                # The director's state reached the relay: cam 1 on air, cam 2 on preview.
                await lamp_becomes(cam1, 1, Lamp.PROGRAM)
                await lamp_becomes(cam2, 2, Lamp.PREVIEW)
                await asyncio.to_thread(lambda: rt.submit(Cut()).result(5))
                await lamp_becomes(cam2, 2, Lamp.PROGRAM)
                await lamp_becomes(cam1, 1, Lamp.PREVIEW)
                await asyncio.to_thread(lambda: rt.submit(SetPreview("test-3")).result(5))
                await lamp_becomes(cam1, 1, Lamp.OFF)

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, phones()).result(60)
        connected = [e for e in seen.events if isinstance(e, ev.LiveChanged) and e.relay_connected]
        assert connected, seen.events
