"""The relay's pure parts: frames, the token bucket, what a change sends, camera merges,
the directors' roster and how its events cross Redis."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from cloud.relay.broker import Presence, Takeover
from cloud.relay.bucket import TokenBucket
from cloud.relay.frames import Outgoing, text_frame
from cloud.relay.redis_broker import BadEvent, decode_event, encode_event
from cloud.relay.roster import Roster
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
    roster.join("x", 100.0)
    assert roster.untold() == [("x", Directors(1, None))]
    roster.join("y", 105.0)
    assert roster.untold() == [("x", Directors(2, 105.0)), ("y", Directors(2, 100.0))]
    assert roster.untold() == []  # nothing changed
    # Another room's director, known until 200: counted, and the longest-connected for "x".
    roster.heard(Presence("room-b", (90.0,), until=200.0), now=150.0)
    assert roster.untold() == [("x", Directors(3, 90.0)), ("y", Directors(3, 90.0))]
    roster.heard(Presence("room-a", (1.0,), until=200.0), now=150.0)  # our own, read back
    roster.heard(Presence("room-c", (2.0,), until=140.0), now=150.0)  # expired already
    assert roster.untold() == []
    roster.expire(now=200.0)  # room-b stopped reporting
    assert roster.untold() == [("x", Directors(2, 105.0)), ("y", Directors(2, 100.0))]
    assert roster.leave("y") and not roster.leave("y")
    assert roster.untold() == [("x", Directors(1, None))]
    assert roster.presence(until=300.0) == Presence("room-a", (100.0,), 300.0)


def test_a_takeover_forgets_the_other_rooms_but_the_takers() -> None:
    roster: Roster[str] = Roster("room-a")
    roster.join("x", 100.0)
    for room in ("room-b", "room-c"):
        roster.heard(Presence(room, (50.0,), until=200.0), now=150.0)
    assert roster.view("x") == Directors(3, 50.0)
    roster.forget_remote(keep="room-c")
    assert roster.view("x") == Directors(2, 50.0)
    roster.heard(Presence("room-c", (), until=200.0), now=150.0)  # its director left
    assert roster.view("x") == Directors(1, None)


@pytest.mark.parametrize(
    "event",
    [
        Presence("r1", (1767258000.25, 1767258001.0), 1767258010.0),
        Presence("r2", (), 5.0),
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
        '{"o":"p","k":"takeover"}',
    ],
)
def test_unreadable_presence_is_a_bad_event(payload: str) -> None:
    with pytest.raises(BadEvent):
        decode_event(payload)
