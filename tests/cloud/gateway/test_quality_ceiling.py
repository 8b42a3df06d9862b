"""A link's quality ceiling in the pure policy: lo only holds whatever is asked or sampled."""

from __future__ import annotations

import pytest

from cloud.gateway.quality import LinkSample, QualityPolicy

GOOD = LinkSample(loss=0.0, rtt_ms=20, bandwidth_kbps=3000)


def test_a_lo_only_viewer_stays_on_lo_whatever_it_asks_or_the_network_says() -> None:
    policy = QualityPolicy("hi", "high", ceiling="lo")
    assert policy.layer == "lo", "starts on lo though it asked for high"
    assert policy.capped
    for t in range(20):  # a perfect link for 20 s: auto would have gone up long ago
        assert policy.decide(GOOD, float(t)) == "lo"
    assert policy.set_mode("auto") == "lo"
    assert policy.capped, "auto would mean hi on this link: still more than it includes"
    assert policy.decide(GOOD, 30.0) == "lo"
    assert policy.set_mode("high") == "lo"
    assert policy.set_mode("low") == "lo"
    assert not policy.capped, "low is what the link includes: nothing held back"


def test_an_auto_ceiling_is_todays_behaviour() -> None:
    policy = QualityPolicy("lo", ceiling="auto")
    assert policy.decide(GOOD, 10.0) == "hi"
    assert policy.set_mode("high") == "hi"
    assert not policy.capped


def test_an_unknown_ceiling_is_refused() -> None:
    with pytest.raises(ValueError, match="ceiling must be one of auto, lo"):
        QualityPolicy("hi", ceiling="hi")  # type: ignore[arg-type]
