"""The director hears what the backend's ingest could not repair (issue #14): a real
`returnfeed send` (hi layer) with a fixed SRT latency far too small for its path (20 ms over
a 30 ms round trip, 5 % loss, the project's lossy relay) publishes to the real backend; the
app's own client reads `GET /api/sessions/{id}/srt/health` and the director's health board
says how many packets arrived too late to play, and what to do. Each such hole in the video
is held back (cloud/gateway/repair.py) and asks the director for a keyframe, which the
sender, on the session's relay, makes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from app.session_link.cloud_api import CloudApi, CloudError, LayerDamage
from app.session_link.health import HealthBoard
from app.session_link.ingest_damage import CLEAR_AFTER_S, DamageWatch
from tests.cloud.gateway.helpers import Show, live, metric, publisher
from tests.support.api import Director, register
from tests.support.cloud import CloudServer
from tests.support.lossy_relay import lossy_relay
from tests.support.procs import wait_until


def read_health(base_url: str, access: str, session_id: str) -> dict[str, LayerDamage]:
    async def read() -> dict[str, LayerDamage]:
        api = CloudApi(base_url)
        try:
            return await api.srt_health(access, session_id)
        finally:
            await api.aclose()

    return asyncio.run(read())


def test_packets_lost_for_good_at_the_ingest_reach_the_directors_board(
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    srt_port: int,
    tmp_path: Path,
) -> None:
    base, access, sid = gw_cloud.base_url, director.access, show.session_id
    health = HealthBoard(lambda _event: None)
    watch = DamageWatch(health)
    watch.seen(read_health(base, access, sid))  # before: the counters to compare with
    with lossy_relay(("127.0.0.1", srt_port), seed=5) as relay:
        relay.impair(loss=0.05, delay_ms=15.0)
        with publisher(show, relay.port, tmp_path / "send.log", layers="hi", latency_ms=20):
            wait_until(lambda: live(api, show), 20, "the publisher through the relay")

            def lost_for_good() -> bool:
                return read_health(base, access, sid)["hi"].unrecovered > 0

            wait_until(lost_for_good, 20, "packets the ingest could not recover")
    layers = read_health(base, access, sid)
    assert layers["hi"].lost >= layers["hi"].unrecovered > 0, layers
    watch.seen(layers)
    (shown,) = health.degraded
    assert shown.link == "stream hi damage"
    assert shown.detail == (
        f"hi: {layers['hi'].unrecovered} packets arrived too late to play at the backend:"
        " raise the SRT latency"
    )


def test_each_hole_asks_the_director_for_a_keyframe_and_gets_one(
    gw_cloud: CloudServer,
    api: httpx.Client,
    director: Director,
    show: Show,
    srt_port: int,
    tmp_path: Path,
) -> None:
    seconds = 12
    log = tmp_path / "send.log"
    cloud = (gw_cloud.base_url, director.access)
    extra = ("--json", "--duration", str(seconds))
    with lossy_relay(("127.0.0.1", srt_port), seed=7) as relay:
        relay.impair(loss=0.02, delay_ms=15.0)
        with publisher(show, relay.port, log, "hi", None, 20, cloud, extra) as sender:
            wait_until(lambda: live(api, show), 20, "the publisher through the relay")
            wait_until(lambda: not sender.alive(), seconds + 20, "the sender to finish")
    holes = metric(api, "gateway_video_holes_total")
    asked = metric(api, 'gateway_keyframe_requests_total{reason="ingest_hole"}')
    assert holes > 0 and asked > 0, log.read_text()[-2000:]
    text = log.read_text()
    summary = json.loads(text[text.rindex("\n{\n") : text.rindex("\n}\n") + 2])
    # No viewer watches: every request the sender answered came from a hole, and each
    # made an IDR beyond the 2 s GOP's.
    assert summary["keyframe_requests"] >= 1, summary
    assert summary["layers"]["hi"]["idrs"] > seconds / 2 + 1, summary["layers"]["hi"]
    held = metric(api, "gateway_video_held_units_total")
    assert held > 0


def test_the_ingest_health_is_the_owners_only(
    gw_cloud: CloudServer, api: httpx.Client, show: Show
) -> None:
    stranger = register(api)
    for token in (stranger.access, show.viewer_token, "not-a-token"):
        with pytest.raises(CloudError) as refused:
            read_health(gw_cloud.base_url, token, show.session_id)
        assert refused.value.status in (401, 403, 404), refused.value
    r = api.get(f"/api/sessions/{show.session_id}/srt/health")
    assert r.status_code == 401


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_board_clears_a_minute_after_the_last_damage_and_a_restart_is_not_damage() -> None:
    clock = Clock()
    health = HealthBoard(lambda _e: None)
    watch = DamageWatch(health, clock)
    watch.seen({"hi": LayerDamage(unrecovered=7)})  # from before this Go Live: not ours
    assert not health.degraded
    watch.seen({"hi": LayerDamage(unrecovered=9), "lo": LayerDamage(unrecovered=0)})
    assert [d.detail[:15] for d in health.degraded] == ["hi: 2 packets a"]  # only hi, only 2
    clock.now = CLEAR_AFTER_S - 1
    watch.seen({"hi": LayerDamage(unrecovered=9)})
    assert health.is_down("stream hi damage")
    clock.now = CLEAR_AFTER_S
    watch.seen({"hi": LayerDamage(unrecovered=9)})
    assert not health.degraded
    watch.seen({"hi": LayerDamage(unrecovered=3)})  # the backend restarted: 3 new ones
    assert health.degraded[0].detail.startswith("hi: 3 packets")
