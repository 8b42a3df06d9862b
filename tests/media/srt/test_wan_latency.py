"""The SRT latency a sender chooses from its link, and SRT's FEC, through real libsrt.

Unit: the rule (margin + RTT + a NAK period per extra repair chance, chances by loss;
floor, cap), when a live connection is worth
redoing, what the link memory makes of handshake times and libsrt's stats, `--srt-fec`
words. Real peers (our binding on loopback): the latency a caller asks for is what both
ends play at when the listener's is lower, and the listener's wins when it is higher; a
caller's FEC config is taken by a listener without one; a listener with another FEC layout
refuses the caller with reason 14 (FILTER), and stays up for the next caller.
"""

from __future__ import annotations

import threading

import pytest

from media.send.latency import (
    LatencyChoice,
    LatencyRule,
    LinkEstimate,
    LinkMemory,
    reports_per_loss,
    should_retune,
)
from media.send.link import describe_reject
from media.send.target import FEC_DEFAULT, fec_config
from media.srt import RejectReason, SrtConnection, SrtOptions, SrtRejected, connect, listen
from tests.media.srt.support import Closer

RULE = LatencyRule()


# --- the rule -----------------------------------------------------------------------------


def test_latency_grows_with_rtt_and_with_loss() -> None:
    near = RULE.choose(LinkEstimate(5.0, 0.001, "srt"))
    clean = RULE.choose(LinkEstimate(30.0, 0.0, "srt"))
    lossy = RULE.choose(LinkEstimate(30.0, 0.01, "srt"))
    far = RULE.choose(LinkEstimate(80.0, 0.02, "srt"))
    # One chance: notice + RTT; each more: one periodic NAK later (20 ms, or RTT / 2).
    assert [c.latency_ms for c in (near, clean, lossy, far)] == [25, 50, 70, 180]
    assert clean.derived and lossy.why == "70 ms: RTT 30 ms + 20, 2 repair chances (loss 1.0 %)"
    assert near.why == "25 ms: RTT 5 ms + 20, 1 repair chance (loss 0.1 %)"
    assert RULE.chances(0.3) == RULE.max_chances


def test_each_choice_leaves_at_most_the_residual_unrepaired() -> None:
    for loss in (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1):
        n = RULE.chances(loss)
        assert loss * (2 * loss) ** n <= RULE.residual
        assert n == 1 or loss * (2 * loss) ** (n - 1) > RULE.residual  # no more than needed


def test_loss_reports_repeated_by_periodic_naks_are_divided_out() -> None:
    """libsrt's sender counts a lost packet once per report naming it until the
    retransmission lands: on a 2 % path with an 80 ms RTT it read 5.7 %."""
    assert reports_per_loss(5.0) == pytest.approx(1.25)  # NAK period 20 ms
    assert reports_per_loss(80.0) == pytest.approx(3.0)  # NAK period RTT / 2
    links = LinkMemory()
    for _ in range(60):  # a minute of a 2 % path, reported three times over
        links.measured("far:1", 80.0, sent=200, lost=12)
    link = links.get("far:1")
    assert link is not None and link.loss == pytest.approx(0.02, rel=0.02)
    assert links.choose("far:1", 120, "").latency_ms == 180


def test_the_first_losses_of_a_link_do_not_read_as_a_bad_path() -> None:
    """A 0.1 % path loses one of the ~350 packets before its first retune (3 s) about as
    often as not: that must not double its latency. A 1 % path's few losses must show."""
    near, far = LinkMemory(), LinkMemory()
    for lost in (1, 0, 0):
        near.measured("near:1", 5.0, sent=115, lost=lost)
    for lost in (2, 3, 4):  # ~3.5 losses in 3 s, each reported ~2.5 times at RTT 30 ms
        far.measured("far:1", 30.0, sent=115, lost=lost)
    assert near.choose("near:1", 120, "").latency_ms == 25  # one chance
    assert far.choose("far:1", 120, "").latency_ms == 70  # two


def test_a_short_link_gets_the_floor_and_a_long_one_the_cap() -> None:
    near = RULE.choose(LinkEstimate(0.4, 0.0, "srt"))
    assert near.latency_ms == 21  # 1.5 x 0.4 + 20, above the 20 ms floor
    tiny = LatencyRule(margin_ms=2).choose(LinkEstimate(1.0, 0.0, "srt"))
    assert tiny.latency_ms == 20 and tiny.why.endswith("floor 20")
    huge = RULE.choose(LinkEstimate(900.0, 0.2, "srt"))
    assert huge.latency_ms == RULE.cap_ms and huge.why.endswith(f"cap {RULE.cap_ms}")
    with pytest.raises(ValueError, match="floor"):
        LatencyRule(floor_ms=50, cap_ms=10)


def test_only_a_clear_difference_is_worth_a_reconnect() -> None:
    def wanted(ms: int, derived: bool = True) -> LatencyChoice:
        return LatencyChoice(ms, f"{ms} ms", derived=derived)

    assert should_retune(120, wanted(65))  # the WAN default on a 30 ms link
    assert not should_retune(120, wanted(110))  # within 25 %
    assert not should_retune(20, wanted(30))  # within 15 ms
    assert should_retune(20, wanted(70))
    assert not should_retune(120, wanted(40, derived=False))  # set by hand: never


def test_link_memory_takes_the_handshake_then_srt_own_numbers() -> None:
    links = LinkMemory()
    first = links.choose("h:1", 120, "wan profile, no RTT measured yet")
    assert (first.latency_ms, first.derived) == (120, False)
    assert first.why == "120 ms: wan profile, no RTT measured yet"
    links.handshake("h:1", 0.064)  # induction + conclusion: two round trips
    assert links.get("h:1") == LinkEstimate(32.0, 0.0, "handshake")
    links.handshake("h:1", 0.5)  # a slow connect later does not undo a measurement
    assert links.get("h:1") == LinkEstimate(32.0, 0.0, "handshake")
    for _ in range(60):  # 1 % lost, each counted 2.5 times (RTT 30 ms, NAK period 20)
        links.measured("h:1", 30.0, sent=200, lost=5)
    link = links.get("h:1")
    assert link is not None and link.source == "srt" and link.loss == pytest.approx(0.01, rel=0.02)
    assert link.rtt_ms == pytest.approx(30.0)
    assert links.choose("h:1", 120, "").latency_ms == 70
    links.measured("h:1", 0.0, sent=0, lost=0)  # no traffic that second: nothing learnt
    assert links.get("h:1") == link
    assert links.get("other:2") is None


def test_srt_fec_words() -> None:
    assert fec_config("off") is None and fec_config("") is None
    assert fec_config("on") == FEC_DEFAULT
    assert fec_config("fec,cols:4,rows:2") == "fec,cols:4,rows:2"
    for bad in ("maybe", "fec,cols", "fec,cols:4 rows:2", "fec,ç:1"):
        with pytest.raises(ValueError):
            fec_config(bad)
    with pytest.raises(ValueError, match="packet filter"):
        SrtOptions(packet_filter="fec,,cols:1")
    assert "FEC" in describe_reject(RejectReason.FILTER)


# --- real libsrt ----------------------------------------------------------------------------


def _accept_one(
    closing: Closer, listener_options: SrtOptions, caller: SrtOptions
) -> tuple[SrtConnection, SrtConnection]:
    listener = closing(listen("127.0.0.1", 0, listener_options))
    got: list[SrtConnection] = []
    thread = threading.Thread(target=lambda: got.append(listener.accept(timeout=5)))
    thread.start()
    try:
        conn = closing(connect(*listener.address, caller))
    finally:
        thread.join(6)
    return conn, closing(got[0])


@pytest.mark.parametrize(("ours", "theirs", "agreed"), [(73, 20, 73), (20, 90, 90)])
def test_the_larger_latency_is_what_both_ends_play_at(
    closing: Closer, ours: int, theirs: int, agreed: int
) -> None:
    caller, accepted = _accept_one(
        closing, SrtOptions(latency_ms=theirs), SrtOptions(latency_ms=ours)
    )
    caller.send(b"x" * 100)
    assert caller.stats().snd_latency_ms == agreed
    assert accepted.stats().rcv_latency_ms == agreed


def test_a_listener_without_fec_takes_the_callers(closing: Closer) -> None:
    caller, accepted = _accept_one(
        closing, SrtOptions(latency_ms=20), SrtOptions(latency_ms=20, packet_filter=FEC_DEFAULT)
    )
    for conn in (caller, accepted):
        agreed = dict(item.partition(":")[::2] for item in conn.packet_filter.split(",")[1:])
        assert conn.packet_filter.startswith("fec,")
        assert (agreed["cols"], agreed["rows"], agreed["arq"]) == ("10", "1", "always")
    caller.send(b"x" * 1316 * 30)
    assert accepted.recv(timeout=3)


def test_a_listener_with_other_fec_refuses_and_stays_up(closing: Closer) -> None:
    listener = closing(listen("127.0.0.1", 0, SrtOptions(packet_filter="fec,cols:10,rows:1")))
    with pytest.raises(SrtRejected) as refused:
        connect(
            *listener.address, SrtOptions(packet_filter="fec,cols:4,rows:2", conn_timeout_ms=2000)
        )
    assert refused.value.reason_code == RejectReason.FILTER
    got: list[SrtConnection] = []
    thread = threading.Thread(target=lambda: got.append(listener.accept(timeout=5)))
    thread.start()
    try:
        closing(connect(*listener.address, SrtOptions(packet_filter="fec,cols:10,rows:1")))
    finally:
        thread.join(6)
    closing(got[0])
    assert got[0].packet_filter.startswith("fec,")
