"""The streamid: its documented form, strict parsing, and properties over random input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from media.srt.streamid import (
    LAYERS,
    MAX_LENGTH,
    StreamId,
    StreamIdError,
    format_streamid,
    parse_streamid,
)

TOKEN = "tok_EN-0123456789abcdefghijklmn"
GOOD = f"#!::r=AbC123/hi,m=publish,s={TOKEN}"

ID_CHARS = st.sampled_from("ABCxyz019._~-")
ids = st.text(ID_CHARS, min_size=1, max_size=64)
tokens = st.text(ID_CHARS, min_size=1, max_size=128)
stream_ids = st.builds(
    StreamId,
    session_id=ids,
    layer=st.sampled_from(LAYERS),
    token=tokens,
    mode=st.sampled_from(["publish", "request"]),
)


def test_documented_form() -> None:
    sid = StreamId("AbC123", "hi", TOKEN)
    assert format_streamid(sid) == GOOD
    assert parse_streamid(GOOD) == sid
    assert sid.resource == "AbC123/hi"


def test_keys_in_any_order_and_unknown_keys_ignored() -> None:
    sid = parse_streamid(f"#!::s={TOKEN},u=director,m=publish,h=ingest.example:9000,r=x/lo")
    assert (sid.session_id, sid.layer, sid.token, sid.mode) == ("x", "lo", TOKEN, "publish")


def test_token_never_in_repr_or_errors() -> None:
    assert TOKEN not in repr(parse_streamid(GOOD))
    with pytest.raises(StreamIdError) as info:
        parse_streamid(f"#!::r=a/hi,m=publish,s={TOKEN}!")
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "start with"),
        ("r=a/hi,m=publish,s=t", "start with"),
        ("#!::", "not key=value"),
        ("#!::r=a/hi,m=publish", "'s'"),
        ("#!::m=publish,s=t", "'r'"),
        ("#!::r=a/hi,s=t", "'m'"),
        ("#!::r=a/mid,m=publish,s=t", "unknown layer"),
        ("#!::r=a,m=publish,s=t", "<session_id>/<layer>"),
        ("#!::r=a/hi/x,m=publish,s=t", "unknown layer"),
        ("#!::r=/hi,m=publish,s=t", "session id"),
        ("#!::r=a/hi,m=play,s=t", "unknown mode"),
        ("#!::r=a/hi,m=publish,s=", "publish token"),
        ("#!::r=a/hi,m=publish,s=t,s=u", "more than once"),
        ("#!::r=a/hi,m=publish,s=t=u", "'='"),
        ("#!::r=a/hi,m=publish,s=t u", "space"),
        ("#!::r=a/hi,m=publish,,s=t", "not key=value"),
        ("#!::r=a/hi,m=publish,9=x,s=t", "malformed key"),
        ("#!::r=a/hi,m=publish,s=t\n", "control character"),
        ("#!::r=a/hé,m=publish,s=t", "ASCII"),
        ("#!::r=a/hi,m=publish,s=" + "t" * 129, "publish token"),
        ("#!::r=a/hi,m=publish,s=t,x=" + "y" * MAX_LENGTH, "longer than 512"),
    ],
)
def test_malformed_is_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(StreamIdError) as info:
        parse_streamid(text)
    assert says in str(info.value)


def test_not_a_string() -> None:
    with pytest.raises(StreamIdError):
        parse_streamid(b"#!::r=a/hi,m=publish,s=t")  # type: ignore[arg-type]


def test_building_a_bad_streamid_fails_early() -> None:
    with pytest.raises(StreamIdError):
        StreamId("a,b", "hi", TOKEN)
    with pytest.raises(StreamIdError):
        StreamId("a", "hi", "t/x")


@given(stream_ids)
def test_round_trip(sid: StreamId) -> None:
    text = format_streamid(sid)
    assert len(text) <= MAX_LENGTH
    assert parse_streamid(text) == sid


@given(st.text(max_size=600))
@example("#!::")
@example("#!::=")
@example("#!::r=/,m=,s=")
@example("#!::r=a/hi,m=publish,s=t\ud800")
def test_any_text_parses_or_raises_streamid_error(text: str) -> None:
    with contextlib.suppress(StreamIdError):  # anything else escaping fails the test
        parse_streamid(text)


KEYS = st.sampled_from(["r", "m", "s", "u", "h", "t", "R", "", "1", "r ", "x_y"])
VALUES = st.one_of(st.text(max_size=40), ids, st.just("a/hi"), st.just("publish"))


@given(st.lists(st.tuples(KEYS, VALUES), max_size=6), st.sampled_from([",", ";", ", "]))
def test_near_misses_parse_or_raise_streamid_error(pairs: list[tuple[str, str]], sep: str) -> None:
    text = "#!::" + sep.join(f"{k}={v}" for k, v in pairs)
    try:
        sid = parse_streamid(text)
    except StreamIdError:
        return
    assert parse_streamid(format_streamid(sid)) == sid


@given(stream_ids, st.integers(min_value=0), st.characters())
def test_one_character_changed_parses_or_raises(sid: StreamId, at: int, char: str) -> None:
    text = format_streamid(sid)
    at %= len(text)
    mutated = text[:at] + char + text[at + 1 :]
    try:
        parsed = parse_streamid(mutated)
    except StreamIdError:
        return
    assert format_streamid(parsed) == mutated or parse_streamid(format_streamid(parsed)) == parsed
