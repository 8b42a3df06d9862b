"""A viewer on an edge asks the director for keyframes through the relay over Redis.

The director's `returnfeed send --cloud` holds its relay link (the one that answers keyframe
requests, app/keyframes.py) on the owner, A, and publishes there with a 30 s GOP; the viewer
watches on B, which pulls the session from A (docs/scale.md, Edges). B's gateway asks for an
IDR when the viewer joins and when it switches to the low layer; B's relay room publishes
the request over Redis, A's room hands it to the director, and the IDR comes back through
A's ingest and the edge pull. Without that the switch would wait for the next scheduled IDR,
up to 30 s away.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.cloud.gateway.helpers import RETURNFEED, live, new_show, run_async, watch_with_aiortc
from tests.cloud.scale.pair import health, two_processes
from tests.support.api import register
from tests.support.procs import wait_until

pytest.importorskip("media.srt")


def test_a_viewer_on_an_edge_gets_the_idrs_it_asks_the_director_for(tmp_path: Path) -> None:
    with two_processes(tmp_path) as (_, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # A owns the session
        assert a.srt_port is not None
        argv = [str(RETURNFEED), "send", "--source", "test:Cam1", "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{a.srt_port}", f"--session={show.session_id}"]
        argv += ["--idr-interval", "30", "--cloud", a.base_url, "--json"]
        env = {
            "RETURNFEED_SRT_PASSPHRASE": show.srt["passphrase"],
            "RETURNFEED_PUBLISH_TOKEN": show.srt["publish_token"],
            "RETURNFEED_DIRECTOR_TOKEN": director.access,
            "PATH": "/usr/bin:/bin",
        }
        out, log = tmp_path / "summary.json", tmp_path / "send.log"
        with out.open("wb") as stdout, log.open("wb") as stderr:
            proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)
            try:

                def ready() -> bool:
                    assert proc.poll() is None, log.read_text()
                    with a.client() as api:
                        on_air = live(api, show)
                    return on_air and "relay connected" in log.read_text()

                wait_until(ready, 30, "on air at A with the director's relay link there")
                # Three seconds on hi, then low: lo's next scheduled IDR is ~30 s away.
                watched = run_async(
                    watch_with_aiortc(
                        b.base_url,
                        show.session_id,
                        show.viewer_token,
                        8.0,
                        mode_after=(3.0, "low"),
                    )
                )
                pulls = health(b)[1]["scale"]["pulls"]
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
    assert watched.status == 201, watched
    assert pulls == [show.session_id]  # B served it as an edge
    assert watched.first_frame_s is not None and watched.first_frame_s < 5.0, watched
    assert watched.widths == [640, 320], f"{watched}\n{b.log_text()[-3000:]}"
    summary = json.loads(out.read_text())
    assert summary["keyframe_requests"] >= 2, summary  # joining (hi) and the switch (lo)
    assert "edge pulls " + show.session_id in b.log_text()
