"""Playback of a recording by HTTP: Range answers (206, 416, the cases RFC 9110 leaves to
us), ids that try to leave the recordings folder, and a recording deleted while it plays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cloud.gateway.helpers import new_show, publisher
from tests.cloud.record.support import decode_errors, wait_recordings
from tests.support.api import Director, register
from tests.support.cloud import CloudServer


@dataclass
class Recorded:
    director: Director
    session_id: str
    recording_id: str
    mp4: bytes

    @property
    def url(self) -> str:
        return f"/api/sessions/{self.session_id}/recordings/{self.recording_id}"


@pytest.fixture(scope="module")
def recorded(rec_cloud: CloudServer, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    assert rec_cloud.srt_port is not None
    log = tmp_path_factory.mktemp("send") / "send.log"
    with rec_cloud.client() as api:
        director = register(api)
        show = new_show(api, director)
        with publisher(show, rec_cloud.srt_port, log, duration=4) as sender:
            sender.popen.wait(60)
        (rec,) = wait_recordings(api, show.session_id, director, 1, "ended")
        url = f"/api/sessions/{show.session_id}/recordings/{rec['id']}/program.mp4"
        whole = api.get(url, headers=director.auth, timeout=60)
        assert whole.status_code == 200
        assert whole.headers["accept-ranges"] == "bytes"
        return Recorded(director, show.session_id, rec["id"], whole.content)


def ranged(api: httpx.Client, recorded: Recorded, value: str) -> httpx.Response:
    headers = {**recorded.director.auth, "Range": value}
    return api.get(f"{recorded.url}/program.mp4", headers=headers)


def test_byte_ranges_answer_206_with_the_bytes(api: httpx.Client, recorded: Recorded) -> None:
    data = recorded.mp4
    size = len(data)
    for value, first, last in [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-10", size - 10, size - 1),
        (f"bytes=10-{size + 1000}", 10, size - 1),  # an end past the file is cut to it
        (f"bytes=-{size + 5}", 0, size - 1),
    ]:
        r = ranged(api, recorded, value)
        assert r.status_code == 206, (value, r.text)
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}", value
        assert r.content == data[first : last + 1], value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("bytes=abc", "range_malformed"),
        ("bytes=5-2", "range_malformed"),
        ("bytes=-", "range_malformed"),
        ("bytes=-0", "range_not_satisfiable"),
        ("bytes=99999999-", "range_not_satisfiable"),
    ],
)
def test_bad_ranges_answer_416(
    api: httpx.Client, recorded: Recorded, value: str, code: str
) -> None:
    r = ranged(api, recorded, value)
    assert r.status_code == 416, r.text
    assert r.headers["content-range"] == f"bytes */{len(recorded.mp4)}"
    assert r.json()["error"]["code"] == code


@pytest.mark.parametrize("value", ["bytes=0-1,5-6", "items=0-1"])
def test_several_ranges_or_another_unit_get_the_whole_file(
    api: httpx.Client, recorded: Recorded, value: str
) -> None:
    r = ranged(api, recorded, value)
    assert r.status_code == 200
    assert r.content == recorded.mp4


@pytest.mark.parametrize(
    "path",
    [
        "/api/sessions/{sid}/recordings/..%2F..%2F..%2Fetc/init.mp4",
        "/api/sessions/{sid}/recordings/{rid}/..%2F..%2F..%2Freturnfeed.db",
        "/api/sessions/{sid}/recordings/{rid}/..%2Fstate.json",
        "/api/sessions/{sid}/recordings/{rid}/state.json",
        "/api/sessions/{sid}/recordings/{rid}%2F..%2F{rid}/init.mp4",
        "/hls/{sid}/..%2F{sid}/init.mp4",
        "/hls/{sid}/{rid}/..%2F..%2F..%2Freturnfeed.db",
    ],
)
def test_ids_that_leave_the_recordings_are_refused(
    api: httpx.Client, recorded: Recorded, path: str
) -> None:
    url = path.format(sid=recorded.session_id, rid=recorded.recording_id)
    r = api.get(url, headers=recorded.director.auth)
    assert r.status_code in (400, 404, 422), (url, r.status_code)
    assert r.json()["error"]["code"] in ("bad_recording_id", "not_found", "validation_error")
    assert api.get("/api/health").status_code == 200


def test_a_recording_deleted_while_it_downloads_finishes(
    api: httpx.Client, recorded: Recorded, tmp_path: Path
) -> None:
    got = bytearray()
    with api.stream("GET", f"{recorded.url}/program.mp4", headers=recorded.director.auth) as r:
        assert r.status_code == 200
        chunks: Iterator[bytes] = r.iter_bytes(4096)
        got += next(chunks)
        gone = api.delete(recorded.url, headers=recorded.director.auth)
        assert gone.status_code == 204
        for chunk in chunks:
            got += chunk
    assert bytes(got) == recorded.mp4
    out = tmp_path / "after.mp4"
    out.write_bytes(got)
    assert decode_errors(out) == ""
    again = api.get(f"{recorded.url}/program.mp4", headers=recorded.director.auth)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"
