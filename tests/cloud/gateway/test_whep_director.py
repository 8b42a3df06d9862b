"""The director watches their own program over WHEP with their login (docs/gateway.md),
as the docs promise; another account's login, or an ended session, is refused clearly."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cloud.gateway.helpers import Show, live, publisher, run_async, watch_with_aiortc
from tests.support.api import Director, bearer, register
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until


def test_the_director_watches_their_own_program_with_their_login(
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    srt_port: int,
    tmp_path: Path,
) -> None:
    status = f"/whep/{show.session_id}/status"
    assert api.get(status, headers=director.auth).status_code == 200
    stranger = register(api)
    r = api.get(status, headers=stranger.auth)
    assert r.status_code == 403 and r.json()["error"]["details"]["reason"] == "session", r.text
    with publisher(show, srt_port, tmp_path / "send.log", layers="lo") as proc:
        wait_until(lambda: live(api, show), 15, f"a live publisher\n{proc.tail()}")
        got = run_async(watch_with_aiortc(gw_cloud.base_url, show.session_id, director.access, 3.0))
    assert got.status == 201, got
    assert got.video_frames > 10, got
    # A login that has ended watches nothing.
    assert api.post("/api/auth/logout", json={"refresh_token": director.refresh}).status_code in (
        200,
        204,
    )
    r = api.get(status, headers=bearer(director.access))
    assert r.status_code == 401, r.text
