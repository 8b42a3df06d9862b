"""Sender reports put sound and picture on one clock: a PTS means the same instant in
both, whenever each was sent (an Opus packet leaves 20 ms after its first sample)."""

from __future__ import annotations

import time

from cloud.gateway.rtpsend import ReportClock, ntp_now

SECOND = 1 << 32  # one second in a 64-bit NTP timestamp


def test_a_pts_maps_to_one_ntp_time_whoever_asks_and_whenever() -> None:
    clock = ReportClock()
    video = clock.ntp(90_000)  # a picture at 1.000 s, sent at once
    time.sleep(0.03)  # the sound of the same instant leaves later
    audio = clock.ntp(90_000)
    assert audio == video
    assert clock.ntp(90_000 + 1800) - video == SECOND * 1800 // 90_000  # 20 ms on
    assert clock.ntp(90_000 - 1500) < video  # earlier PTS, earlier time


def test_the_line_starts_at_the_wall_clock_and_runs_with_the_pts() -> None:
    before = ntp_now()
    clock = ReportClock()
    first = clock.ntp(123_456)
    assert before <= first <= ntp_now()
    # An hour of PTS later the line has moved exactly an hour, whatever the wall clock did.
    assert clock.ntp(123_456 + 3600 * 90_000) - first == 3600 * SECOND
