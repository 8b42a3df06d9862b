"""The whole chain without a browser: `returnfeed send` -> SRT -> backend -> aiortc viewer."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.cloud.gateway.helpers import (
    Show,
    live,
    metric,
    on_air,
    watch,
)
from tests.support.cloud import METRICS_AUTH, CloudServer


def test_aiortc_viewer_gets_video_and_audio(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    assert not live(api, show)
    with on_air(api, show, srt_port, tmp_path):
        got = watch(gw_cloud, show, 4.0)
    assert got.status == 201, got
    assert "H264" in got.answer
    assert got.video_frames > 30, got
    assert got.audio_frames > 10, got


def test_the_viewer_switches_to_low_at_an_idr_when_asked(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    with on_air(api, show, srt_port, tmp_path):
        got = watch(gw_cloud, show, 6.0, mode_after=(2.0, "low"))
    assert got.status == 201, got
    # hi is 640 wide, lo 320; one switch, no frame of another size in between.
    assert got.widths == [640, 320], got
    metrics = api.get("/metrics", headers=METRICS_AUTH).text
    # The seed's names and labels (§9.1), exactly.
    sid = show.session_id
    assert (
        f'simulcast_quality_switches_total{{from_quality="hi",session_id="{sid}",to_quality="lo"}}'
        " 1.0" in metrics
    )
    assert re.search(
        rf'^network_packet_loss_count\{{session_id="{sid}",user_id="[^"]+"\}} [1-9]', metrics, re.M
    ), metrics


def test_a_viewer_that_asks_for_low_at_the_offer_gets_only_low(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    with on_air(api, show, srt_port, tmp_path):
        got = watch(gw_cloud, show, 3.0, start_mode="low")
        bad = api.post(
            f"/whep/{show.session_id}",
            params={"mode": "medium"},
            content="v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
            headers={**show.viewer_auth, "Content-Type": "application/sdp"},
        )
    assert got.status == 201, got
    # From its first decoded frame on: no hi GOP first, no switch.
    assert got.widths == [320], got.widths
    assert got.video_frames > 30, got
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request", bad.text


def test_a_picture_only_offer_gets_no_audio_and_drops_nothing(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    with on_air(api, show, srt_port, tmp_path):
        dropped = metric(api, "gateway_viewer_dropped_units_total")
        got = watch(gw_cloud, show, 4.0, audio=False)
        # Audio went on (the publisher sends it) for 4 s: none of it queued for this viewer.
        assert metric(api, "gateway_viewer_dropped_units_total") == dropped
    assert got.status == 201, got
    assert "m=audio" not in got.answer
    assert got.video_frames > 30 and got.audio_frames == 0, got


def test_a_lossy_link_is_switched_to_low_automatically(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    with on_air(api, show, srt_port, tmp_path):
        got = watch(gw_cloud, show, 9.0, drop_video_every=20)
    assert got.status == 201, got
    metrics = api.get("/metrics", headers=METRICS_AUTH).text
    # Loss > 3 % in the receiver reports: down to lo at lo's next IDR, once (cooldown) ...
    assert f'from_quality="hi",session_id="{show.session_id}",to_quality="lo"}} 1.0' in metrics
    # (Not checked: lo pictures in this client afterwards. aiortc's receiver jitter buffer
    # waits for the dropped retransmissions until 128 packets have passed, ~10 s of lo.)
    assert got.widths[:1] == [640], got.widths
