"""The relay's pure parts: frames, the token bucket, what a change sends, camera merges,
the directors' roster and how its events cross Redis."""

from __future__ import annotations

import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from cloud.relay.broker import Joined, Presence, Takeover
from cloud.relay.bucket import TokenBucket
from cloud.relay.frames import Outgoing, text_frame
from cloud.relay.redis_broker import BadEvent, decode_event, encode_event
from cloud.relay.roster import Roster, login_tag
from cloud.relay.state import CameraRow, Tally, merge_cameras, update
from tally import (
    BusState,
    Camera,
    CameraLamp,
    Delta,
    Directors,
    Lamp,
    Snapshot,
    TallyState,
    parse,
)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_text_frames_parse_as_websockets_reads_them(size: int) -> None:
    payload = b"x" * size
    reader = StreamReader()
    reader.feed_data(text_frame(payload))
    reader.feed_eof()
    with pytest.raises(StopIteration) as done:
        next(Frame.parse(reader.read_exact, mask=False))
    parsed: Frame = done.value.value
    assert (parsed.opcode, parsed.fin, parsed.data) == (Opcode.TEXT, True, payload)
    assert not reader.buffer  # nothing left over


def test_an_outgoing_message_is_framed_once() -> None:
    out = Outgoing('{"v":1}')
    assert out.frame is out.frame


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(burst=3, per_second=2.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False  # 0.8 of a token
    assert bucket.take(0.5) is True
    assert bucket.take(100.0) and bucket.take(100.0) and bucket.take(100.0)
    assert bucket.take(100.0) is False  # never more than the burst


CAMERAS = (Camera(1, "A", "a"), Camera(2, "B", "b"))


def _tally(seq: int, program: str, cameras: tuple[Camera, ...] = CAMERAS) -> Tally:
    return Tally.of(seq, TallyState(BusState((program,), ()), cameras, live_only=False))


def test_the_next_seq_is_a_delta_of_the_changed_lamps() -> None:
    delta = parse(update(_tally(4, "a"), _tally(5, "b"), snapshot=False).text)
    assert delta == Delta(
        5, BusState(("b",), ()), (CameraLamp(1, Lamp.OFF), CameraLamp(2, Lamp.PROGRAM))
    )


@pytest.mark.parametrize(
    ("old", "new", "snapshot"),
    [
        (_tally(4, "a"), _tally(5, "b"), True),  # asked for
        (_tally(4, "a"), _tally(7, "b"), False),  # a gap: another process took seqs
        (_tally(4, "a"), _tally(5, "a", CAMERAS[:1]), False),  # a camera left
    ],
)
def test_otherwise_a_snapshot(old: Tally, new: Tally, snapshot: bool) -> None:
    sent = update(old, new, snapshot)
    assert sent is new.snapshot
    assert isinstance(parse(sent.text), Snapshot)


def test_rest_edits_rename_and_add_cameras_and_keep_the_directors_mapping() -> None:
    state = TallyState(BusState(("a",), ()), CAMERAS, live_only=True)
    rows = [CameraRow(2, "Steadicam", "ndi-b"), CameraRow(3, "New", "HOST (Cam 3)")]
    merged = merge_cameras(state, rows)
    assert merged.cameras == (Camera(2, "Steadicam", "b"), Camera(3, "New", "HOST (Cam 3)"))
    assert (merged.bus, merged.live_only) == (state.bus, True)
    long_name = CameraRow(4, "Long", "n" * 200)  # too long to be a tally source
    assert merge_cameras(state, [long_name]).cameras == (Camera(4, "Long", None),)


def test_the_roster_tells_each_director_of_the_others_once() -> None:
    roster: Roster[str] = Roster("room-a")
    roster.join("x", "login-x", 100.0)
    assert roster.untold() == [("x", Directors(1, None))]
    roster.join("y", "login-y", 105.0)
    assert roster.untold() == [("x", Directors(2, 105.0)), ("y", Directors(2, 100.0))]
    assert roster.untold() == []  # nothing changed
    # Another room's director, known until 200: counted, and the longest-connected for "x".
    roster.heard(Presence("room-b", (Joined("login-z", 90.0),), until=200.0), now=150.0)
    assert roster.untold() == [("x", Directors(3, 90.0)), ("y", Directors(3, 90.0))]
    ours = Presence("room-a", (Joined("login-w", 1.0),), until=200.0)
    roster.heard(ours, now=150.0)  # our own, read back
    roster.heard(Presence("room-c", (Joined("login-v", 2.0),), until=140.0), now=150.0)  # expired
    assert roster.untold() == []
    roster.expire(now=200.0)  # room-b stopped reporting
    assert roster.untold() == [("x", Directors(2, 105.0)), ("y", Directors(2, 100.0))]
    assert roster.leave("y") and not roster.leave("y")
    assert roster.untold() == [("x", Directors(1, None))]
    assert roster.presence(until=300.0) == Presence("room-a", (Joined("login-x", 100.0),), 300.0)


def test_a_directors_own_ghost_connection_is_not_another_director() -> None:
    # The process it was connected through died; its record there is still valid.
    roster: Roster[str] = Roster("room-new")
    roster.heard(Presence("room-dead", (Joined("login-x", 50.0),), until=200.0), now=150.0)
    roster.join("x", "login-x", 150.0)  # the same login reconnects
    assert roster.untold() == [("x", Directors(1, None))]
    # A second connection of the same login on this process (a half-open socket) neither.
    roster.join("x-again", "login-x", 151.0)
    assert roster.untold() == [("x-again", Directors(1, None))]


def test_other_logins_count_once_each_from_their_earliest_connection() -> None:
    roster: Roster[str] = Roster("room-a")
    roster.join("x", "login-x", 100.0)
    roster.join("y1", "login-y", 120.0)
    remote = (Joined("login-y", 110.0), Joined("login-z", 130.0), Joined("login-x", 90.0))
    roster.heard(Presence("room-b", remote, until=200.0), now=150.0)
    # "y" counts once, from its earliest connection (on room-b); "z" once; "x" is the receiver.
    assert roster.view("x") == Directors(3, 110.0)
    # For "y": "x" (earliest 90 on room-b) and "z".
    assert roster.view("y1") == Directors(3, 90.0)


def test_directors_of_unknown_login_count_one_each() -> None:
    # A process from before per-login counting reports bare times.
    roster: Roster[str] = Roster("room-a")
    roster.join("x", "login-x", 100.0)
    old = (Joined(None, 80.0), Joined(None, 90.0))
    roster.heard(Presence("room-old", old, until=200.0), now=150.0)
    assert roster.view("x") == Directors(3, 80.0)


def test_a_login_tag_hides_the_family_id_and_differs_per_session() -> None:
    tag = login_tag("s1", "family-1")
    assert len(tag) == 16 and "family" not in tag
    assert tag == login_tag("s1", "family-1")
    assert tag not in (login_tag("s2", "family-1"), login_tag("s1", "family-2"))


def test_a_takeover_forgets_the_other_rooms_but_the_takers() -> None:
    roster: Roster[str] = Roster("room-a")
    roster.join("x", "login-x", 100.0)
    for room in ("room-b", "room-c"):
        roster.heard(Presence(room, (Joined(f"login-{room}", 50.0),), until=200.0), now=150.0)
    assert roster.view("x") == Directors(3, 50.0)
    roster.forget_remote(keep="room-c")
    assert roster.view("x") == Directors(2, 50.0)
    roster.heard(Presence("room-c", (), until=200.0), now=150.0)  # its director left
    assert roster.view("x") == Directors(1, None)


@pytest.mark.parametrize(
    "event",
    [
        Presence("r1", (Joined("ab12", 1767258000.25), Joined("cd34", 1767258001.0)), 1.8e9),
        Presence("r2", (), 5.0),
        Presence("r3", (Joined(None, 1767258000.5),), 1.8e9),
        Takeover("r3"),
    ],
)
def test_presence_and_takeover_cross_redis_unchanged(event: Presence | Takeover) -> None:
    assert decode_event(encode_event("proc", event)) == ("proc", event)


@pytest.mark.parametrize(
    "payload",
    [
        '{"o":"p","k":"presence","room":"r","at":[1,"x"],"until":5}',
        '{"o":"p","k":"presence","room":"r","at":[true],"until":5}',
        '{"o":"p","k":"presence","room":"","at":[],"until":5}',
        '{"o":"p","k":"presence","room":"r","logins":[["a"]],"until":5}',
        '{"o":"p","k":"presence","room":"r","logins":[[7,1.0]],"until":5}',
        '{"o":"p","k":"presence","room":"r","logins":[["",1.0]],"until":5}',
        '{"o":"p","k":"presence","room":"r","logins":{"a":1.0},"until":5}',
        '{"o":"p","k":"takeover"}',
    ],
)
def test_unreadable_presence_is_a_bad_event(payload: str) -> None:
    with pytest.raises(BadEvent):
        decode_event(payload)


def test_presence_from_a_process_before_per_login_counting_has_unknown_logins() -> None:
    old = '{"o":"p","k":"presence","room":"r","at":[1.5,2.0],"until":5}'
    presence = Presence("r", (Joined(None, 1.5), Joined(None, 2.0)), 5.0)
    assert decode_event(old) == ("p", presence)


def test_presence_still_tells_older_processes_the_join_times() -> None:
    sent = json.loads(encode_event("p", Presence("r", (Joined("ab12", 1.5),), 5.0)))
    assert (sent["at"], sent["logins"]) == ([1.5], [["ab12", 1.5]])
