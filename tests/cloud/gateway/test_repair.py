"""HoleGuard on its own: what is held from a hole to the next IDR that starts after it.
The real path (libsrt behind the lossy relay, the ingest's demuxer) is in
tests/faults/test_srt_unrecovered.py and tests/cloud/gateway/test_ingest_damage.py."""

from __future__ import annotations

from cloud.gateway.repair import Admit, HoleGuard

GO, HOLD, ASK = Admit(True, False), Admit(False, False), Admit(False, True)


def test_a_clean_stream_goes_through() -> None:
    guard = HoleGuard()
    assert [guard.admit(pos, pos == 0, None) for pos in (0, 1880, 3760)] == [GO, GO, GO]
    assert (guard.holes, guard.held) == (0, 0)


def test_held_from_the_hole_to_an_idr_that_starts_after_it() -> None:
    guard = HoleGuard()
    assert guard.admit(0, True, None) == GO
    # The frame being handed over began before the hole: it may hold it.
    assert guard.admit(1880, False, 3008) == ASK
    assert guard.admit(3760, False, 3008) == HOLD  # predicted from a damaged picture
    assert guard.admit(2820, True, 3008) == HOLD  # a keyframe the hole may be in
    assert guard.admit(5640, True, 3008) == GO  # the one asked for, whole
    assert guard.admit(7520, False, 3008) == GO
    assert (guard.holes, guard.held) == (1, 3)


def test_a_hole_in_the_awaited_keyframe_asks_again() -> None:
    guard = HoleGuard()
    assert guard.admit(1880, False, 2000) == ASK
    assert guard.admit(3760, True, 4000) == ASK  # this IDR was broken too
    assert guard.admit(5640, True, 4000) == GO
    assert guard.holes == 2


def test_an_idr_without_a_position_ends_the_hold() -> None:
    guard = HoleGuard()
    assert guard.admit(None, False, 2000) == ASK
    assert guard.admit(None, True, 2000) == GO
