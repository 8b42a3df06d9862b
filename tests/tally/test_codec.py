"""parse and encode at their edges: size, bytes, nesting, and the Python side of the checks."""

import json
import pickle

import pytest

from tally import (
    MAX_MESSAGE_BYTES,
    BusState,
    Camera,
    CameraLamp,
    Directors,
    Heartbeat,
    Hello,
    Lamp,
    ProtocolError,
    Role,
    Snapshot,
    TallyState,
    TextMessage,
    encode,
    parse,
)

HEARTBEAT = '{"v":1,"type":"heartbeat","ts":1}'


def padded(text: str, size: int) -> str:
    # Whitespace after the object is valid JSON, so it sets the size without changing the message.
    return text + " " * (size - len(text.encode("utf-8")))


@pytest.mark.parametrize("as_bytes", [False, True])
def test_size_limit_is_inclusive(as_bytes: bool) -> None:
    fits = padded(HEARTBEAT, MAX_MESSAGE_BYTES)
    over = padded(HEARTBEAT, MAX_MESSAGE_BYTES + 1)
    assert parse(fits.encode() if as_bytes else fits) == Heartbeat(1.0)
    with pytest.raises(ProtocolError, match="over the 16384-byte limit"):
        parse(over.encode() if as_bytes else over)


def test_size_counts_utf8_bytes_not_characters() -> None:
    text = f'{{"v":1,"type":"error","code":"x","message":"{"é" * 1000}"}}'
    parse(text)
    over = padded(text, MAX_MESSAGE_BYTES + 1)
    assert len(over) < MAX_MESSAGE_BYTES  # in characters it would fit
    with pytest.raises(ProtocolError, match="byte limit"):
        parse(over)


def test_huge_input_is_refused_before_reading_json() -> None:
    with pytest.raises(ProtocolError, match="byte limit"):
        parse("[" * 10_000_000)


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(ProtocolError, match="invalid UTF-8 at byte 31"):
        parse(b'{"v":1,"type":"heartbeat","ts":\xff}')


def test_text_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(ProtocolError, match="lone surrogate"):
        parse('{"v":1,"type":"error","code":"x","message":"\ud800"}')


def test_absurd_nesting_is_a_protocol_error() -> None:
    for raw in ("[" * 8000 + "]" * 8000, '{"a":' * 2000 + "1" + "}" * 2000):
        with pytest.raises(ProtocolError, match="nested too deeply"):
            parse(raw)


def test_number_with_too_many_digits_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="too many digits"):
        parse('{"v":1,"type":"heartbeat","ts":' + "9" * 5000 + "}")


def test_non_text_input_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="expected str or bytes, got int"):
        parse(42)  # type: ignore[arg-type]


def test_error_messages_stay_short_whatever_the_input() -> None:
    key = "k" * 5000
    with pytest.raises(ProtocolError) as caught:
        parse(json.dumps({"v": 1, "type": "heartbeat", "ts": 1, key: 1}))
    assert len(str(caught.value)) < 100


def test_encode_is_compact_and_keeps_unicode() -> None:
    msg = TextMessage(id="m1", camera=None, text="Bühne ✓")
    assert encode(msg) == '{"v":1,"type":"message","id":"m1","camera":null,"text":"Bühne ✓"}'


def test_encode_refuses_an_oversize_message() -> None:
    cameras = tuple(Camera(n, "名" * 64, "源" * 128) for n in range(1, 100))
    state = TallyState(BusState(program=(), preview=()), cameras, live_only=False)
    with pytest.raises(ProtocolError, match=r"snapshot: \d+ bytes is over the 16384-byte limit"):
        encode(Snapshot(seq=0, state=state, lamps=()))


def test_hello_camera_may_be_absent_and_is_sent_as_null() -> None:
    msg = parse('{"v":1,"type":"hello","role":"director","protocol":1,"capabilities":[]}')
    assert msg == Hello(role=Role.DIRECTOR, protocol=1, capabilities=())
    assert encode(msg).endswith(',"camera":null}')


def test_constructing_an_invalid_value_in_python_fails_the_same_way() -> None:
    with pytest.raises(ProtocolError, match=r"number: expected 1\.\.99, got 0"):
        Camera(0, "x", None)
    with pytest.raises(ProtocolError, match="camera: expected int, got bool"):
        CameraLamp(True, Lamp.OFF)
    with pytest.raises(ProtocolError, match=r"cameras\[1\].number: duplicate value 1"):
        TallyState(BusState((), ()), (Camera(1, "a", None), Camera(1, "b", None)), False)


def test_construction_canonicalises_values() -> None:
    bus = BusState(program=["a"], preview=[])  # type: ignore[arg-type]
    assert bus.program == ("a",)
    assert CameraLamp(1, "program").lamp is Lamp.PROGRAM  # type: ignore[arg-type]
    beat = Heartbeat(ts=5)
    assert isinstance(beat.ts, float)
    assert hash(bus) == hash(BusState(("a",), ()))


def test_protocol_error_keeps_its_path_and_pickles() -> None:
    err = ProtocolError("cameras[2].number", "expected int, got str").within("snapshot.state")
    assert str(err) == "snapshot.state.cameras[2].number: expected int, got str"
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.path, copy.problem) == (err.path, err.problem)
    assert str(ProtocolError("", "invalid JSON").within("")) == "invalid JSON"


def test_directors_wire_form() -> None:
    alone = '{"v":1,"type":"directors","count":1,"since":null}'
    assert parse(alone) == Directors(count=1, since=None)
    assert encode(Directors(1, None)) == alone
    two = Directors(count=2, since=1767258000)
    assert isinstance(two.since, float)
    assert encode(two) == '{"v":1,"type":"directors","count":2,"since":1767258000.0}'


@pytest.mark.parametrize(
    ("count", "since", "problem"),
    [
        (0, None, r"count: expected 1\.\.\d+, got 0"),
        (2, None, "since: expected a time when count is 2"),
        (1, 1767258000.0, "since: expected null when count is 1"),
        (3, -0.5, "since: expected a unix time, got -0.5"),
    ],
)
def test_directors_count_and_since_must_agree(
    count: int, since: float | None, problem: str
) -> None:
    with pytest.raises(ProtocolError, match=problem):
        Directors(count, since)
    raw = json.dumps({"v": 1, "type": "directors", "count": count, "since": since})
    with pytest.raises(ProtocolError, match="directors." + problem):
        parse(raw)
