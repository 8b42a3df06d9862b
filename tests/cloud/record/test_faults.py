"""Faults around a recording: kill -9 of the backend mid-show, a publisher that restarts,
a disk that fills. Each leaves whole segments that play, of hi and of its lo copy alike,
and the live show goes on."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud.gateway.helpers import live, metric, new_show, publisher
from tests.cloud.record.support import (
    decode_errors,
    fetch,
    probe,
    recordings,
    wait_recordings,
)
from tests.support.api import register
from tests.support.cloud import CloudServer, gateway_server
from tests.support.procs import wait_until


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[CloudServer]:
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud")
    yield server
    server.stop()


def segments_on_disk(server: CloudServer, session_id: str, layer: str = "") -> list[Path]:
    """The hi segments, or with layer "lo" the lo copy's."""
    pattern = f"*/{layer}/*.m4s" if layer else "*/*.m4s"
    return sorted((server.data_dir / "recordings" / session_id).glob(pattern))


def each_plays(folder: Path, segments: list[Path], out: Path, size: tuple[int, int]) -> None:
    """Every segment decodes after its folder's init, at `size`."""
    init = (folder / "init.mp4").read_bytes()
    for segment in segments:
        out.write_bytes(init + segment.read_bytes())
        assert decode_errors(out) == "", segment
        (video,) = (s for s in probe(out)["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == size, segment


def test_kill_9_mid_recording_keeps_every_complete_segment(
    backend: CloudServer, tmp_path: Path
) -> None:
    assert backend.srt_port is not None
    with backend.client() as api:
        director = register(api)
        show = new_show(api, director)
        with publisher(show, backend.srt_port, tmp_path / "send.log"):
            wait_until(
                lambda: (
                    len(segments_on_disk(backend, show.session_id)) >= 3
                    and len(segments_on_disk(backend, show.session_id, "lo")) >= 2
                ),
                30,
                "3 segments, and 2 of the lo copy",
            )
            # While it is written: it downloads as far as it goes, and cannot be deleted.
            (live,) = recordings(api, show.session_id, director.auth)["recordings"]
            assert live["state"] == "recording"
            url = f"/api/sessions/{show.session_id}/recordings/{live['id']}"
            so_far = fetch(api, f"{url}/program.mp4", director.auth, tmp_path / "so_far.mp4")
            assert decode_errors(so_far) == ""
            refused = api.delete(url, headers=director.auth)
            assert refused.status_code == 400, refused.text
            assert "still being written" in refused.json()["error"]["message"]
            assert backend.proc is not None
            backend.proc.stop(signal.SIGKILL)
        kept = segments_on_disk(backend, show.session_id)
        (folder,) = {p.parent for p in kept}
        each_plays(folder, kept, tmp_path / "one.mp4", (640, 360))
        kept_lo = segments_on_disk(backend, show.session_id, "lo")
        assert not list((folder / "lo").glob("*.tmp"))  # half a segment is never named .m4s
        each_plays(folder / "lo", kept_lo, tmp_path / "one.mp4", (320, 180))

        backend.start()
        (rec,) = recordings(api, show.session_id, director.auth)["recordings"]
        assert rec["state"] == "interrupted"
        assert rec["segments"] == len(kept)
        url = f"/api/sessions/{show.session_id}/recordings/{rec['id']}/program.mp4"
        mp4 = fetch(api, url, director.auth, tmp_path / "program.mp4")
        assert decode_errors(mp4) == ""


def test_a_publisher_that_restarts_begins_a_new_recording(
    backend: CloudServer, tmp_path: Path
) -> None:
    assert backend.srt_port is not None
    with backend.client() as api:
        director = register(api)
        show = new_show(api, director)
        with publisher(show, backend.srt_port, tmp_path / "first.log") as first:
            wait_until(
                lambda: len(segments_on_disk(backend, show.session_id)) >= 2, 30, "2 segments"
            )
            first.stop(signal.SIGKILL)  # mid-segment: its fragment never completes
        with publisher(show, backend.srt_port, tmp_path / "second.log", duration=4) as second:
            second.popen.wait(60)
        both = wait_recordings(api, show.session_id, director, 2, "ended")
        assert [r["reason"] for r in both][1] == "publisher_left"
        assert both[0]["reason"] in ("publisher_left", "publisher_restarted")
        for rec in both:
            url = f"/api/sessions/{show.session_id}/recordings/{rec['id']}/program.mp4"
            mp4 = fetch(api, url, director.auth, tmp_path / f"{rec['id']}.mp4")
            assert decode_errors(mp4) == ""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real file system that fills (mounting needs root)."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a tmpfs mount, as root: {mounted.stderr.decode()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_ends_the_recording_and_the_show_goes_on(
    small_disk: Path, tmp_path: Path
) -> None:
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud", env={"RETURNFEED_RECORDINGS_DIR": str(small_disk)})
    try:
        assert server.srt_port is not None
        with server.client() as api:
            director = register(api)
            show = new_show(api, director)
            with publisher(show, server.srt_port, tmp_path / "send.log"):

                def ended() -> bool:
                    current = recordings(api, show.session_id, director.auth)["current"]
                    return current is not None and current["state"] == "ended"

                wait_until(ended, 60, "the recording to end")
                current = recordings(api, show.session_id, director.auth)["current"]
                assert current["reason"] == "disk_full"
                assert metric(api, 'record_errors_total{layer="hi",reason="disk_full"}') == 1
                # The lo copy shares the disk: it ended too, or will at its next write.
                assert metric(api, 'record_errors_total{layer="lo",reason="disk_full"}') <= 1
                units = metric(api, "gateway_units_total")
                wait_until(
                    lambda: metric(api, "gateway_units_total") > units + 100, 10, "more units"
                )
                assert live(api, show)
            assert "disk_full" in (server.workdir / "cloud.log").read_text()
            (rec,) = recordings(api, show.session_id, director.auth)["recordings"]
            assert rec["segments"] >= 1
            folder = small_disk / show.session_id / rec["id"]
            each_plays(folder, sorted(folder.glob("*.m4s")), tmp_path / "one.mp4", (640, 360))
            if (folder / "lo" / "init.mp4").is_file():
                lo = sorted((folder / "lo").glob("*.m4s"))
                each_plays(folder / "lo", lo, tmp_path / "one.mp4", (320, 180))
    finally:
        server.stop()


@pytest.mark.parametrize(
    "limit",
    [
        {"RETURNFEED_RECORDING_MAX_GB": "0.000001"},  # 1 KiB: any ended recording is too much
        {"RETURNFEED_RECORDING_MAX_AGE_DAYS": "0.00001"},  # 0.86 s
    ],
    ids=["size", "age"],
)
def test_retention_removes_ended_recordings_when_one_starts(
    limit: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud", env=limit)
    try:
        assert server.srt_port is not None
        with server.client() as api:
            director = register(api)
            first, second = new_show(api, director), new_show(api, director)
            with publisher(first, server.srt_port, tmp_path / "1.log", duration=3) as sender:
                sender.popen.wait(60)
            wait_recordings(api, first.session_id, director, 1, "ended")
            time.sleep(1)  # past the age limit (the size limit needs no wait)
            with publisher(second, server.srt_port, tmp_path / "2.log", duration=3) as sender:

                def first_gone() -> bool:
                    return not recordings(api, first.session_id, director.auth)["recordings"]

                wait_until(first_gone, 30, "the first show's recording to go")
                sender.popen.wait(60)
            # Its lo copy went with it: nothing of the first show is left on disk.
            gone = server.data_dir / "recordings" / first.session_id
            assert not [p for p in gone.rglob("*") if p.is_file()]
            # The one being written was kept, whatever the limits.
            (kept,) = wait_recordings(api, second.session_id, director, 1, "ended")
            assert kept["segments"] >= 1
        assert "removed by retention" in (server.workdir / "cloud.log").read_text()
    finally:
        server.stop()
