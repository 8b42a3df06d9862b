"""The relay's pure parts: frames, the token bucket, what a change sends, camera merges."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from cloud.relay.bucket import TokenBucket
from cloud.relay.frames import Outgoing, text_frame
from cloud.relay.state import CameraRow, Tally, merge_cameras, update
from tally import BusState, Camera, CameraLamp, Delta, Lamp, Snapshot, TallyState, parse


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
