"""A layer that cannot connect reads the SRT target again every UNREACHABLE_S while it
cannot: with several backend processes the session's ingest moves when its owner dies
(docs/scale.md), and only a fresh read says where (app/srt_renewal.py)."""

from __future__ import annotations

from app.srt_renewal import UNREACHABLE_S, CredentialRenewal
from media.send.link import LinkPhase
from media.srt import RejectReason
from tests.app.test_go_live_expiry import FakeClock, stats

DOWN = stats(hi=({}, LinkPhase.RETRYING), lo=({}, LinkPhase.CONNECTED))
UP = stats(hi=({}, LinkPhase.CONNECTED), lo=({}, LinkPhase.CONNECTED))


def test_a_layer_that_cannot_connect_reads_the_target_again_every_few_seconds() -> None:
    clock = FakeClock()
    renewal = CredentialRenewal(clock=clock)
    assert not renewal.due(DOWN)  # just went down: the sender's own retry comes first
    clock.now += UNREACHABLE_S - 0.1
    assert not renewal.due(DOWN)
    clock.now += 0.1
    assert renewal.due(DOWN)
    renewal.renewed()  # same target: the layer keeps trying; read again only later
    clock.now += UNREACHABLE_S - 0.1
    assert not renewal.due(DOWN)
    clock.now += 0.1
    assert renewal.due(DOWN)


def test_a_layer_that_connected_meanwhile_starts_the_wait_again() -> None:
    clock = FakeClock()
    renewal = CredentialRenewal(clock=clock)
    assert not renewal.due(DOWN)
    clock.now += UNREACHABLE_S - 0.5
    assert not renewal.due(UP)
    clock.now += 0.5
    assert not renewal.due(DOWN)  # down again just now, not for UNREACHABLE_S
    clock.now += UNREACHABLE_S
    assert renewal.due(DOWN)


def test_a_refused_layer_is_not_unreachable() -> None:
    """A refusal has its own rule (credentials refusals only): a 1409 conflict that stays
    refused reads nothing again."""
    clock = FakeClock()
    renewal = CredentialRenewal(clock=clock)
    conflict = stats(hi=({RejectReason.CONFLICT: 1}, LinkPhase.REJECTED))
    for _ in range(5):
        assert not renewal.due(conflict)
        clock.now += UNREACHABLE_S
