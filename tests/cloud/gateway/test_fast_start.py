"""Fast start: a new viewer makes the relay ask the director's encoder for a keyframe."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tally import KeyframeRequest, Role
from tests.cloud.gateway.helpers import (
    RETURNFEED,
    Show,
    publisher,
    run_async,
    watch_with_aiortc,
)
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


def test_send_with_a_relay_link_gives_a_new_viewer_its_first_frame_at_once(
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    srt_port: int,
    tmp_path: Path,
) -> None:
    # A 30 s GOP: the only IDR a viewer joining a few seconds in can get soon is a forced one.
    argv = [str(RETURNFEED), "send", "--source", "test:Cam1", "--encoder", "libx264"]
    argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show.session_id}"]
    argv += ["--idr-interval", "30", "--cloud", gw_cloud.base_url, "--json"]
    env = {
        "RETURNFEED_SRT_PASSPHRASE": show.srt["passphrase"],
        "RETURNFEED_PUBLISH_TOKEN": show.srt["publish_token"],
        "RETURNFEED_DIRECTOR_TOKEN": director.access,
        "PATH": "/usr/bin:/bin",
    }
    out = tmp_path / "summary.json"
    log = tmp_path / "send.log"
    with out.open("wb") as stdout:
        proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=log.open("wb"))
        try:

            def ready() -> bool:
                assert proc.poll() is None, log.read_text()
                r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
                return len(r.json()["layers"]) == 2 and "relay connected" in log.read_text()

            wait_until(ready, 20, "a live publisher with its relay link")
            time.sleep(1.0)  # well past the first IDR (and any cache of it)
            watched = run_async(
                watch_with_aiortc(gw_cloud.base_url, show.session_id, show.viewer_token, 6.0)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    assert watched.status == 201
    # Generous for a loaded machine; the next scheduled IDR is ~28 s away.
    assert watched.first_frame_s is not None and watched.first_frame_s < 5.0, log.read_text()
    assert watched.video_frames > 30
    summary = json.loads(out.read_text())
    assert summary["keyframe_requests"] >= 1
    assert show.srt["passphrase"] not in log.read_text() + out.read_text()
    assert director.access not in log.read_text() + out.read_text()
