"""Anything a client sends gets an answer, never a crash: fuzzed input against the real relay."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tally import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    Ack,
    Assign,
    BusChange,
    Camera,
    CamerasChange,
    Directors,
    ErrorMessage,
    Heartbeat,
    Hello,
    KeyframeRequest,
    Message,
    ProtocolError,
    Role,
    Snapshot,
    SnapshotRequest,
    encode,
    parse,
)
from tests.cloud.relay.peers import Show, new_show
from tests.support.cloud import CloudServer

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
valid = st.sampled_from(
    [
        Heartbeat(5.0),
        SnapshotRequest(3),
        Ack("m1", 2),
        BusChange(("a",), ("b",)),
        CamerasChange((Camera(1, "A", "a"),), live_only=False),
        KeyframeRequest("hi", "x"),
        Hello(Role.CAMERA, 1, ()),
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid message with one field removed, retyped or added."""
    obj: dict[str, Any] = json.loads(encode(draw(valid)))
    key = draw(st.sampled_from([*obj, "camera", "seq", "extra"]))
    if key in obj and draw(st.booleans()):
        del obj[key]
    else:
        obj[key] = draw(json_values)
    return json.dumps(obj)


oversize = st.integers(MAX_MESSAGE_BYTES - 40, 3 * MAX_MESSAGE_BYTES).map(
    lambda size: '{"v":1,"type":"heartbeat","ts":1}' + " " * size
)
inputs = st.one_of(
    st.text(max_size=64),
    st.binary(max_size=64),
    json_values.map(json.dumps),
    mutated(),
    oversize,
)


class SyncPeer:
    def __init__(self, ws: ClientConnection, role: Role) -> None:
        self.ws = ws
        self._barrier = 0.0
        ws.send(encode(Hello(role, PROTOCOL_VERSION, ())))
        first = parse(ws.recv(timeout=5))
        assert isinstance(first, Snapshot)
        self.snapshot = first
        if role is Role.CAMERA:
            assert isinstance(parse(ws.recv(timeout=5)), Assign)  # the phone's camera
        if role is Role.DIRECTOR:
            assert isinstance(parse(ws.recv(timeout=5)), Directors)  # who else directs

    def answers_to(self, raw: str | bytes) -> list[Message]:
        """Send `raw`, then a heartbeat as a barrier; everything that came back before it."""
        self.ws.send(raw)
        self._barrier += 1
        barrier = -self._barrier
        self.ws.send(encode(Heartbeat(barrier)))
        got: list[Message] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = parse(self.ws.recv(timeout=5))
            if isinstance(message, Heartbeat) and message.ts == barrier:
                return got
            if not (isinstance(message, Heartbeat) and message.ts > 1e12):  # the relay's own
                got.append(message)
        raise AssertionError("no barrier echo")


def _connect(show: Show, token: str, role: Role) -> Iterator[SyncPeer]:
    with connect(
        show.url,
        subprotocols=[Subprotocol("returnfeed.v1")],
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        max_size=None,
        open_timeout=10,
    ) as ws:
        yield SyncPeer(ws, role)


@pytest.fixture(scope="module")
def fuzzed(lenient_server: CloudServer) -> Iterator[Show]:
    show = new_show(lenient_server)
    yield show
    assert lenient_server.alive(), lenient_server.log_text()[-3000:]


@pytest.fixture(autouse=True)
def still_alive(lenient_server: CloudServer) -> Iterator[None]:
    yield
    assert lenient_server.alive(), lenient_server.log_text()[-3000:]


@pytest.fixture(scope="module")
def director(fuzzed: Show) -> Iterator[SyncPeer]:
    yield from _connect(fuzzed, fuzzed.director.access, Role.DIRECTOR)


@pytest.fixture(scope="module")
def phone(lenient_server: CloudServer) -> Iterator[SyncPeer]:
    show = new_show(lenient_server)  # its acks must not reach the fuzzed director
    yield from _connect(show, show.token("camera", 2), Role.CAMERA)
    assert lenient_server.alive(), lenient_server.log_text()[-3000:]


def _expected_refusal(raw: str | bytes) -> str | None:
    """The error text the relay must answer `raw` with, if tally's parser refuses it."""
    try:
        parse(raw)
    except ProtocolError as err:
        return str(err)
    return None


@FUZZ
@given(raw=inputs)
def test_a_phone_gets_an_answer_to_anything(phone: SyncPeer, raw: str | bytes) -> None:
    answers = phone.answers_to(raw)
    refusal = _expected_refusal(raw)
    if refusal is not None:
        assert answers == [ErrorMessage("bad_message", refusal[:1000])]
        return
    message = parse(raw)
    allowed = {Heartbeat, SnapshotRequest, Ack}
    if type(message) not in allowed:
        assert [type(a) for a in answers] == [ErrorMessage]
        assert isinstance(answers[0], ErrorMessage)
        assert answers[0].code in ("forbidden", "unexpected")
    else:
        assert all(isinstance(a, Heartbeat | Snapshot) for a in answers), answers


@FUZZ
@given(raw=inputs.filter(lambda raw: _expected_refusal(raw) is not None))
def test_a_director_is_told_what_is_wrong_and_the_state_stays(
    director: SyncPeer, raw: str | bytes
) -> None:
    before = director.snapshot
    assert director.answers_to(raw) == [ErrorMessage("bad_message", str(_expected_refusal(raw)))]
    (snapshot,) = director.answers_to(encode(SnapshotRequest(before.seq)))
    assert isinstance(snapshot, Snapshot)
    assert (snapshot.seq, snapshot.state) == (before.seq, before.state)


def test_ten_malformed_messages_in_a_row_close_the_connection(fuzzed: Show) -> None:
    for peer in _connect(fuzzed, fuzzed.token("viewer"), Role.VIEWER):
        for n in range(9):
            peer.ws.send("{" * (n + 1))
        with pytest.raises(ConnectionClosed) as closed:
            peer.ws.send("nope")
            while True:
                peer.ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


def test_a_frame_far_over_the_limit_is_cut_off(fuzzed: Show) -> None:
    for peer in _connect(fuzzed, fuzzed.token("viewer"), Role.VIEWER):
        with pytest.raises(ConnectionClosed) as closed:
            peer.ws.send("x" * (5 * MAX_MESSAGE_BYTES))
            while True:
                peer.ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
