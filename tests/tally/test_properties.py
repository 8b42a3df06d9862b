"""Property tests: parse takes anything and raises only ProtocolError; encode round-trips."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tally import (
    MAX_SAFE_INT,
    MESSAGE_TYPES,
    Ack,
    Assign,
    BusChange,
    BusState,
    Camera,
    CameraLamp,
    CamerasChange,
    Delta,
    Directors,
    ErrorMessage,
    Flash,
    Heartbeat,
    Hello,
    KeyframeRequest,
    Lamp,
    LampMessage,
    Message,
    ProtocolError,
    Role,
    Snapshot,
    SnapshotRequest,
    TallyState,
    TextMessage,
    changed_lamps,
    derive_lamps,
    encode,
    parse,
)
from tally.validate import BIDI_CONTROLS

FAST = settings(max_examples=300)

# Sizes stay small enough that every generated message fits in MAX_MESSAGE_BYTES.
camera_numbers = st.integers(1, 99)
seqs = st.integers(0, MAX_SAFE_INT)
source_ids = st.text(min_size=1, max_size=12)
sources = st.lists(source_ids, max_size=4, unique=True).map(tuple)
buses = st.builds(BusState, program=sources, preview=sources)
# A camera name is read by people: no controls or bidi overrides (validate.Printable).
printable_names = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=BIDI_CONTROLS),
    min_size=1,
    max_size=16,
)
cameras = st.lists(
    st.builds(
        Camera,
        number=camera_numbers,
        name=printable_names,
        source=st.none() | source_ids | st.sampled_from(["a", "b"]),
    ),
    max_size=6,
    unique_by=lambda camera: camera.number,
).map(tuple)
states = st.builds(TallyState, bus=buses, cameras=cameras, live_only=st.booleans())
lamp_lists = st.lists(
    st.builds(CameraLamp, camera=camera_numbers, lamp=st.sampled_from(Lamp)),
    max_size=6,
    unique_by=lambda entry: entry.camera,
).map(tuple)
message_ids = st.text(min_size=1, max_size=64)


def snapshot_of(seq: int, state: TallyState) -> Snapshot:
    return Snapshot(seq, state, derive_lamps(state.bus, state.cameras, state.live_only))


MESSAGES: dict[type[Message], st.SearchStrategy[Message]] = {
    Hello: st.builds(
        Hello,
        role=st.sampled_from(Role),
        protocol=st.integers(1, MAX_SAFE_INT),
        capabilities=st.lists(st.text(min_size=1, max_size=64), max_size=32, unique=True).map(
            tuple
        ),
        camera=st.none() | camera_numbers,
    ),
    Snapshot: st.builds(snapshot_of, seqs, states),
    Delta: st.builds(
        Delta, seq=st.integers(1, MAX_SAFE_INT), bus=st.none() | buses, lamps=lamp_lists
    ),
    BusChange: st.builds(BusChange, program=sources, preview=sources),
    CamerasChange: st.builds(CamerasChange, cameras=cameras, live_only=st.booleans()),
    LampMessage: st.builds(
        LampMessage, camera=camera_numbers, lamp=st.sampled_from(Lamp), seq=seqs
    ),
    TextMessage: st.builds(
        TextMessage,
        id=message_ids,
        camera=st.none() | camera_numbers,
        text=st.text(min_size=1, max_size=500),
    ),
    Ack: st.builds(Ack, id=message_ids, camera=camera_numbers),
    Flash: st.builds(Flash, camera=st.none() | camera_numbers),
    Assign: st.builds(Assign, participant=st.text(min_size=1, max_size=32), camera=camera_numbers),
    KeyframeRequest: st.builds(
        KeyframeRequest, layer=st.sampled_from(["hi", "lo", None]), reason=st.text(max_size=64)
    ),
    Heartbeat: st.builds(
        Heartbeat,
        ts=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
    ),
    SnapshotRequest: st.builds(SnapshotRequest, last_seq=st.none() | seqs),
    # `since` is a time exactly when there is another director.
    Directors: st.builds(Directors, count=st.just(1), since=st.none())
    | st.builds(
        Directors,
        count=st.integers(2, MAX_SAFE_INT),
        since=st.floats(0, 1e12) | st.integers(0, 2**53),
    ),
    ErrorMessage: st.builds(
        ErrorMessage, code=st.text(min_size=1, max_size=64), message=st.text(max_size=1000)
    ),
}
messages = st.one_of(*MESSAGES.values())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = sorted(
    {"number", "name", "source", "program", "preview", "bus", "cameras", "live_only", "lamp"}
    | {name for cls in MESSAGE_TYPES.values() for name in cls.__dataclass_fields__}
)


def refused_or_message(raw: str | bytes) -> Message | None:
    """parse's whole contract: a Message back, or a ProtocolError — never anything else."""
    try:
        msg = parse(raw)
    except ProtocolError as err:
        assert str(err)
        return None
    assert parse(encode(msg)) == msg
    return msg


def test_every_message_type_has_a_strategy() -> None:
    assert set(MESSAGES) == set(MESSAGE_TYPES.values())


@FAST
@given(st.text())
def test_any_text_parses_or_is_refused(raw: str) -> None:
    refused_or_message(raw)


@FAST
@given(st.binary())
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    refused_or_message(raw)


@FAST
@given(
    version=st.just(1) | json_values,
    type_=st.sampled_from(sorted(MESSAGE_TYPES)) | json_values,
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), json_values),
)
def test_any_json_object_parses_or_is_refused(
    version: object, type_: object, fields: dict[str, object]
) -> None:
    refused_or_message(json.dumps({**fields, "v": version, "type": type_}))


@FAST
@given(messages, st.data())
def test_a_valid_message_with_one_part_changed_parses_or_is_refused(
    msg: Message, data: st.DataObject
) -> None:
    obj = json.loads(encode(msg))
    containers: list[Any] = [obj]
    stack: list[Any] = [obj]
    while stack:
        children = list(value.values() if isinstance(value := stack.pop(), dict) else value)
        nested = [child for child in children if isinstance(child, dict | list)]
        containers += nested
        stack += nested
    target = data.draw(st.sampled_from(containers))
    if isinstance(target, dict):
        key = data.draw(st.sampled_from([*target, *FIELD_NAMES]))
        if key in target and data.draw(st.booleans()):
            del target[key]
        else:
            target[key] = data.draw(json_values)
    elif target:
        target[data.draw(st.integers(0, len(target) - 1))] = data.draw(json_values)
    else:
        target.append(data.draw(json_values))
    refused_or_message(json.dumps(obj))


@FAST
@given(messages)
def test_valid_messages_round_trip(msg: Message) -> None:
    text = encode(msg)
    assert parse(text) == msg
    assert parse(text.encode("utf-8")) == msg


@FAST
@given(states, states)
def test_changed_lamps_turn_the_old_lamps_into_the_new(old: TallyState, new: TallyState) -> None:
    before = derive_lamps(old.bus, new.cameras, old.live_only)
    after = derive_lamps(new.bus, new.cameras, new.live_only)
    lamps = {entry.camera: entry.lamp for entry in before}
    lamps.update((entry.camera, entry.lamp) for entry in changed_lamps(before, after))
    assert lamps == {entry.camera: entry.lamp for entry in after}
    if new.live_only:
        assert Lamp.PREVIEW not in lamps.values()
