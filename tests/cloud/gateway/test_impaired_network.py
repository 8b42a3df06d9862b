"""An impaired network between the gateway and Chromium on the viewer page.

`returnfeed send` -> SRT -> backend -> WHEP -> /watch in Chromium, with every WebRTC
packet through a lossy UDP relay on loopback (netem is not available on this machine; see
tests/support/lossy_relay.py). While the relay drops or delays, the gateway's quality
manager must move the viewer to lo, and the page must keep decoding; once healed, back to
hi after the 5 s cooldown. What the page decoded is read from getStats (frameWidth 640 is
hi, 320 is lo), the switches from the backend's /metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.cloud.gateway.helpers import (
    PageVideo,
    Show,
    longest_freeze,
    publisher,
    quality_switches,
    relayed_viewer,
    summary,
    wait_for,
)
from tests.support.cloud import CloudServer
from tests.support.lossy_relay import Impairment, LossyRelay, lossy_relay
from tests.support.procs import wait_until

HI, LO = 640, 320
MAX_FREEZE_S = 2.0
# Deadlines are generous for a loaded 2-core machine: a receiver report a second, a sample
# a second, then the wanted layer's next IDR (2 s GOP); up also waits out the 5 s cooldown.
DOWN_WITHIN_S = 20.0
UP_WITHIN_S = 30.0
STAY_S = 7.0  # on hi after the return: longer than the 5 s cooldown that would allow a drop


@pytest.fixture
def relay() -> Iterator[LossyRelay]:
    with lossy_relay(seed=6) as r:
        yield r


def live(api: httpx.Client, show: Show) -> bool:
    r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
    return bool(r.status_code == 200 and r.json()["live"])


@pytest.mark.parametrize(
    "impairment",
    [
        pytest.param(Impairment(loss=0.08), id="8%-loss"),
        pytest.param(Impairment(delay_ms=100), id="200ms-rtt"),
    ],
)
def test_the_viewer_drops_to_low_on_a_bad_link_and_returns_to_high(
    gw_cloud: CloudServer,
    api: httpx.Client,
    show: Show,
    srt_port: int,
    webrtc_browser: Browser,
    relay: LossyRelay,
    impairment: Impairment,
    tmp_path: Path,
) -> None:
    sid = show.session_id
    with (
        publisher(show, srt_port, tmp_path / "send.log") as proc,
        relayed_viewer(webrtc_browser, gw_cloud.base_url, show, relay) as video,
    ):
        wait_until(lambda: live(api, show), 20, f"a live publisher\n{proc.tail()}")
        wait_for(lambda: video.decoding(HI, 30), 30, lambda: f"hi frames: {video.describe()}")
        assert relay.counters.forwarded["down"] > 30, "the media did not come through the relay"
        assert quality_switches(api, sid, "hi", "lo") == 0, "down before the link went bad"

        relay.impair(impairment.loss, impairment.delay_ms)
        impaired_at = video.clock()
        wait_for(
            lambda: video.decoding(LO, 30) and quality_switches(api, sid, "hi", "lo") >= 1,
            DOWN_WITHIN_S,
            lambda: f"lo frames under {impairment}: {video.describe()}",
        )
        healed_at = video.clock()
        relay.heal()
        wait_for(
            lambda: video.decoding(HI, 30) and quality_switches(api, sid, "lo", "hi") >= 1,
            UP_WITHIN_S,
            lambda: f"hi frames after healing: {video.describe()}",
        )
        # And it stays there: no switch straight back down once the cooldown allows one.
        back_at = video.clock()
        downs = quality_switches(api, sid, "hi", "lo")
        wait_until(lambda: video.clock() > back_at + STAY_S, STAY_S + 10, "time to pass")
        video.poll()
        assert quality_switches(api, sid, "hi", "lo") == downs, video.describe(80)
        assert {s.width for s in video.since(back_at)} == {HI}, video.describe(80)
        assert proc.alive(), proc.tail()

    print(f"{impairment}: {summary(video, impaired_at, healed_at)}; relay {relay.counters}")
    check_it_kept_playing(video, impaired_at, healed_at)
    if impairment.loss:
        assert relay.counters.dropped["down"] > 0, relay.counters


def check_it_kept_playing(video: PageVideo, impaired_at: float, healed_at: float) -> None:
    """One connection throughout, every frame size hi or lo, and no long freeze while the
    link was bad or while it came back."""
    after = video.since(impaired_at)
    assert {s.connections for s in video.samples} == {1}, "the page had to reconnect"
    assert {s.width for s in after} <= {HI, LO}, {s.width for s in after}
    freeze = longest_freeze(after)
    assert freeze <= MAX_FREEZE_S, f"froze {freeze:.1f} s ({video.describe(40)})"
    lo_frames = [s for s in video.since(impaired_at) if s.width == LO and s.at_s <= healed_at]
    assert lo_frames[-1].frames - lo_frames[0].frames >= 30, "lo did not play on the bad link"
