"""The quality manager's decisions, as a pure class: thresholds, unknowns, cooldowns."""

from __future__ import annotations

import pytest

from cloud.gateway.quality import LinkSample, QualityPolicy

GOOD = LinkSample(loss=0.0, rtt_ms=20, bandwidth_kbps=3000)
LOSSY = LinkSample(loss=0.05, rtt_ms=20, bandwidth_kbps=3000)


@pytest.mark.parametrize(
    ("sample", "down"),
    [
        (LinkSample(0.031, 20, 3000), True),
        (LinkSample(0.03, 20, 3000), False),  # "more than 3 %"
        (LinkSample(0.0, 151, 3000), True),
        (LinkSample(0.0, 150, 3000), False),
        (LinkSample(0.0, 20, 199), True),
        (LinkSample(0.0, 20, 200), False),
        (LinkSample(None, None, None), False),  # nothing known: stay
        (LinkSample(0.2, None, None), True),
    ],
)
def test_down_thresholds(sample: LinkSample, down: bool) -> None:
    policy = QualityPolicy("hi")
    policy.decide(LinkSample(0.0, 20, 3000), now=99.0)  # an estimate counts when it falls
    assert policy.decide(sample, now=100.0) == ("lo" if down else "hi")


@pytest.mark.parametrize(
    ("sample", "up"),
    [
        (LinkSample(0.009, 99, 1501), True),
        (LinkSample(0.01, 50, 3000), False),  # "less than 1 %"
        (LinkSample(0.0, 100, 3000), False),
        (LinkSample(0.0, 50, 1500), False),
        (LinkSample(0.0, 50, None), True),  # no REMB: loss and RTT decide
        (LinkSample(None, 50, 3000), False),  # unknown loss: no evidence to go up
        (LinkSample(0.0, None, 3000), False),
    ],
)
def test_up_thresholds(sample: LinkSample, up: bool) -> None:
    policy = QualityPolicy("lo")
    policy.decide(LinkSample(None, 20, 3000), now=99.0)  # an estimate counts when it falls
    assert policy.decide(sample, now=100.0) == ("hi" if up else "lo")


def test_a_steady_or_rising_estimate_is_no_evidence() -> None:
    # Chromium's REMB, measured through a clean relay after a 200 ms RTT spike: it backed
    # off to 74 kbps and climbed ~4 kbps/s on lo, whose ~107 kbps caps it at ~171.
    policy = QualityPolicy("hi")
    assert policy.decide(LinkSample(0.0, 20, 540), 0.0) == "hi"
    assert policy.decide(LinkSample(0.0, 20, 74), 1.0) == "lo", "a fall under 200 kbps"
    climbing = [LinkSample(0.0, 5, 74 + 4 * i) for i in range(12)]
    layers = [policy.decide(sample, 2.0 + i) for i, sample in enumerate(climbing)]
    # Up once the cooldown has passed, though the estimate is far under 1.5 Mbps; and no
    # straight way back down because it is still under 200 kbps: it is not falling.
    assert layers == ["lo"] * 4 + ["hi"] * 8


def test_a_falling_estimate_only_counts_when_low_enough() -> None:
    policy = QualityPolicy("hi")
    policy.decide(LinkSample(0.0, 20, 540), 0.0)
    assert policy.decide(LinkSample(0.0, 20, 459), 1.0) == "hi", "0.85x, still over 200"
    assert policy.decide(LinkSample(0.0, 20, 190), 2.0) == "lo"
    assert policy.decide(LinkSample(0.0, 20, 188), 8.0) == "hi", "within 5 %: not a fall"
    assert policy.decide(LinkSample(0.0, 20, 2000), 9.0) == "hi"
    low = QualityPolicy("lo")
    low.decide(LinkSample(None, 20, 3000), 0.0)
    assert low.decide(LinkSample(0.0, 20, 1400), 10.0) == "lo", "fell, under 1.5 Mbps"
    assert low.decide(LinkSample(0.0, 20, 1400), 14.0) == "lo", "for a cooldown"
    assert low.decide(LinkSample(0.0, 20, 1400), 15.0) == "hi"


def test_cooldowns_per_direction() -> None:
    policy = QualityPolicy("hi")
    assert policy.decide(LOSSY, 10.0) == "lo"
    assert policy.decide(GOOD, 12.0) == "lo", "not back up within 5 s of going down"
    assert policy.decide(GOOD, 15.0) == "hi"
    # Going down again right after going up is allowed: a bad upgrade is undone at once...
    assert policy.decide(LOSSY, 15.5) == "lo"
    # ... but only once per cooldown: up again needs 5 s after that drop.
    assert policy.decide(GOOD, 19.0) == "lo"
    assert policy.decide(GOOD, 20.5) == "hi"


def test_down_cooldown_holds_after_a_manual_high() -> None:
    policy = QualityPolicy("hi")
    assert policy.decide(LOSSY, 10.0) == "lo"
    policy.set_mode("high")
    policy.set_mode("auto")
    assert policy.decide(LOSSY, 12.0) == "hi", "hi -> lo at most once per 5 s"
    assert policy.decide(LOSSY, 15.0) == "lo"


def test_manual_modes_override_and_auto_resumes() -> None:
    policy = QualityPolicy("hi")
    assert policy.set_mode("low") == "lo"
    assert policy.decide(GOOD, 1.0) == "lo"
    assert policy.set_mode("high") == "hi"
    assert policy.decide(LOSSY, 2.0) == "hi"
    policy.set_mode("auto")
    assert policy.decide(LOSSY, 3.0) == "lo"
    with pytest.raises(ValueError, match="mode"):
        policy.set_mode("best")  # type: ignore[arg-type]
