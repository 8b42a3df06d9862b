"""Fast start: a new viewer makes the relay ask the director's encoder for a keyframe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tally import KeyframeRequest, Role
from tests.cloud.gateway.helpers import Show, publisher, run_async, watch_with_aiortc
from tests.cloud.relay.peers import connect_peer
from tests.support.api import Director
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until


def test_a_new_viewer_asks_the_director_for_a_keyframe(
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    srt_port: int,
    tmp_path: Path,
) -> None:
    url = gw_cloud.base_url.replace("http://", "ws://") + f"/api/relay/{show.session_id}"

    def live() -> bool:
        r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
        return bool(r.json()["live"])

    async def run() -> KeyframeRequest:
        async with connect_peer(url, director.access, Role.DIRECTOR, header=True) as desk:
            watching = asyncio.create_task(
                watch_with_aiortc(gw_cloud.base_url, show.session_id, show.viewer_token, 2.0)
            )
            request = await desk.expect(KeyframeRequest, within=8)
            await watching
            return request

    with publisher(show, srt_port, tmp_path / "send.log") as proc:
        wait_until(live, 15, f"a live publisher\n{proc.tail()}")
        request = run_async(run())
    assert request.layer == "hi"
    assert request.reason == "new_viewer"
