"""The golden examples, shared with the phone page's JavaScript tests."""

import json
from pathlib import Path

import pytest

from tally import MESSAGE_TYPES, ProtocolError, Snapshot, derive_lamps, encode, parse

DATA = Path(__file__).parents[1] / "data" / "tally"
VALID = sorted((DATA / "valid").glob("*.json"))
INVALID = sorted((DATA / "invalid").glob("*.json"))


def test_there_are_examples() -> None:
    assert len(VALID) >= len(MESSAGE_TYPES)
    assert len(INVALID) >= 40


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_parses_and_round_trips(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    msg = parse(raw)
    assert path.stem.startswith(msg.TYPE), "name each file after the type it holds"
    assert parse(encode(msg)) == msg
    assert parse(raw.encode("utf-8")) == msg


def test_every_message_type_has_a_valid_example() -> None:
    seen = {parse(path.read_text(encoding="utf-8")).TYPE for path in VALID}
    assert seen == set(MESSAGE_TYPES)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_snapshot_lamps_are_the_derived_ones(path: Path) -> None:
    msg = parse(path.read_text(encoding="utf-8"))
    if isinstance(msg, Snapshot):
        state = msg.state
        assert msg.lamps == derive_lamps(state.bus, state.cameras, state.live_only)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_example_is_refused_with_its_error(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    assert set(case) == {"raw", "error"}
    with pytest.raises(ProtocolError) as caught:
        parse(case["raw"])
    assert case["error"] in str(caught.value)
