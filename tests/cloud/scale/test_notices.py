"""The session notices' wire format (cloud/scale/notices.py): what is read, what is refused."""

from __future__ import annotations

import pytest

from cloud.scale.notices import (
    MAX_NOTICE,
    BadNotice,
    Kind,
    Notice,
    decode_notice,
    encode_notice,
)


def test_a_notice_reads_back_as_written() -> None:
    kinds: tuple[Kind, ...] = ("ended", "rotated")
    for kind in kinds:
        notice = Notice(kind, "Kye5NiZkd3k", "backend-1")
        assert decode_notice(encode_notice(notice).encode()) == notice


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff not text",
        b"not json",
        b"[]",
        b'{"o":"x","k":"ended"}',  # no session
        b'{"o":"x","k":"paused","s":"abc"}',
        b'{"o":"","k":"ended","s":"abc"}',
        b'{"o":"x","k":"ended","s":"../../etc"}',
        b'{"o":"x","k":"ended","s":7}',
        b'{"o":"x","k":"ended","s":"' + b"a" * MAX_NOTICE + b'"}',
        "text, not bytes",
    ],
)
def test_anything_else_is_a_bad_notice(payload: object) -> None:
    with pytest.raises(BadNotice):
        decode_notice(payload)
