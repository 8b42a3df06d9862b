"""The lo layer's copy of each recording (#18): a link capped at lo replays lo, never hi;
the director, auto links and audience links replay hi. A real `returnfeed send` into the
real backend; ffprobe says what each reader's playlist segments decode to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.cloud.gateway.helpers import Show, publisher
from tests.cloud.record.support import decode_errors, probe, recordings, wait_recordings
from tests.support.api import Director, bearer, invite, redeem
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until

HI = (640, 360)
LO = (320, 180)


def participant(api: httpx.Client, director: Director, show: Show, **link: Any) -> dict[str, str]:
    made = invite(api, director, show.session_id, **link)
    joined = redeem(api, made["token"])
    assert joined.status_code == 201, joined.text
    return bearer(joined.json()["participant_token"])


def played(
    api: httpx.Client, url: str, auth: dict[str, str], out: Path
) -> tuple[tuple[int, int], float, list[str]]:
    """What a reader's playlist plays: its segments' picture size (all alike), the total
    duration, and the segment URIs."""
    listing = api.get(url, headers=auth)
    assert listing.status_code == 200, listing.text
    lines = listing.text.splitlines()
    base = url.rsplit("/", 1)[0]
    (init_uri,) = (line.split('"')[1] for line in lines if line.startswith("#EXT-X-MAP"))
    init = api.get(f"{base}/{init_uri}", headers=auth)
    assert init.status_code == 200, init.text
    uris = [line for line in lines if line.endswith(".m4s")]
    assert uris, listing.text
    sizes = set()
    total = 0.0
    for uri in uris:
        segment = api.get(f"{base}/{uri}", headers=auth)
        assert segment.status_code == 200, (uri, segment.text)
        out.write_bytes(init.content + segment.content)
        assert decode_errors(out) == "", uri
        info = probe(out)
        (video,) = (s for s in info["streams"] if s["codec_type"] == "video")
        sizes.add((video["width"], video["height"]))
        total += float(info["format"]["duration"]) - float(info["format"]["start_time"])
    (size,) = sizes
    return size, total, uris


def test_a_lo_capped_link_replays_lo_and_the_others_hi(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    assert rec_cloud.srt_port is not None
    sid = show.session_id
    camera = participant(api, director, show, role="camera", camera=1)  # lo: the default
    auto_camera = participant(api, director, show, role="camera", camera=1, quality="auto")
    lo_viewer = participant(api, director, show, role="viewer", quality="lo")
    r = api.post(f"/api/sessions/{sid}/audience", json={}, headers=director.auth)
    assert r.status_code == 201, r.text
    audience = r.json()["url"]
    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log", duration=5) as sender:
        sender.popen.wait(60)
    (rec,) = wait_recordings(api, sid, director, 1, "ended")
    assert rec["lo_bytes"] and 0 < rec["lo_bytes"] < rec["bytes"] / 2, rec

    playlist = f"/hls/{sid}/index.m3u8"
    out = tmp_path / "one.mp4"
    for auth in (camera, lo_viewer):
        size, lo_s, uris = played(api, playlist, auth, out)
        assert size == LO
        assert all(u.startswith(f"{rec['id']}/lo/") for u in uris), uris
    for auth in (director.auth, show.viewer_auth, auto_camera):
        size, hi_s, uris = played(api, playlist, auth, out)
        assert size == HI
        assert not any("/lo/" in u for u in uris), uris
    # The copy covers the show as hi does (its publisher's IDRs start a frame or two apart;
    # on a loaded machine one layer's connection may come a second or more after the other's,
    # so only "most of it" is a fact of the product).
    assert hi_s / 2 < lo_s < hi_s + 1.0, (lo_s, hi_s)
    size, _, _ = played(httpx.Client(), audience, {}, out)
    assert size == HI  # an audience link is the program's public replay: hi

    # The hi files themselves are refused to a link capped at lo, by every path.
    base = f"/api/sessions/{sid}/recordings/{rec['id']}"
    hi_files = [f"/hls/{sid}/{rec['id']}/init.mp4", f"{base}/init.mp4", f"{base}/program.mp4"]
    for url in hi_files:
        r = api.get(url, headers=camera)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["error"]["details"]["reason"] == "quality_ceiling"
        assert api.get(url, headers=show.viewer_auth).status_code == 200, url
    # ...while the list is the same for everyone: the hi recordings.
    assert [r["id"] for r in recordings(api, sid, camera)["recordings"]] == [rec["id"]]

    # The copy goes with its recording.
    folder = rec_cloud.data_dir / "recordings" / sid / rec["id"]
    assert sorted(p.name for p in (folder / "lo").glob("*.m4s"))
    assert api.delete(base, headers=director.auth).status_code == 204
    assert not folder.exists()
    gone = api.get(f"/hls/{sid}/{rec['id']}/lo/init.mp4", headers=camera)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_a_publisher_without_lo_gives_a_lo_capped_link_a_404_not_hi(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    assert rec_cloud.srt_port is not None
    sid = show.session_id
    camera = participant(api, director, show, role="camera", camera=1)
    log = tmp_path / "send.log"
    with publisher(show, rec_cloud.srt_port, log, layers="hi", duration=3) as sender:
        sender.popen.wait(60)
    (rec,) = wait_recordings(api, sid, director, 1, "ended")
    assert rec["lo_bytes"] is None
    r = api.get(f"/hls/{sid}/index.m3u8", headers=camera)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "no_lo_recording"
    r = api.get(f"/hls/{sid}/{rec['id']}/lo/init.mp4", headers=camera)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_lo_recording"
    assert api.get(f"/hls/{sid}/index.m3u8", headers=show.viewer_auth).status_code == 200
    # Ids are checked before any path is built, on the lo paths too.
    for bad in (f"{rec['id']}/lo/..%2Finit.mp4", f"{rec['id']}/lo/state.json", "x/lo/init.mp4"):
        r = api.get(f"/hls/{sid}/{bad}", headers=camera)
        assert r.status_code in (400, 404), (bad, r.text)
        assert r.json()["error"]["code"] in ("bad_recording_id", "not_found"), bad


def test_a_lo_publisher_that_comes_back_is_joined_on(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    """hi stays live while lo's publisher leaves and comes back (its timeline starts again):
    the lo copy carries on from its next IDR, one recording that decodes without a step."""
    assert rec_cloud.srt_port is not None
    sid = show.session_id
    camera = participant(api, director, show, role="camera", camera=1)
    port = rec_cloud.srt_port
    with publisher(show, port, tmp_path / "hi.log", layers="hi"):
        wait_recordings(api, sid, director, 1, "recording")
        for n in (1, 2):
            with publisher(show, port, tmp_path / f"lo{n}.log", layers="lo", duration=3) as lo:
                lo.popen.wait(60)
        wait_until(lambda: len(lo_segments(rec_cloud, sid)) >= 2, 30, "lo segments")
        assert lo_segments(rec_cloud, sid)
    (rec,) = wait_recordings(api, sid, director, 1, "ended")
    assert rec["reason"] == "publisher_left"
    size, lo_s, _ = played(api, f"/hls/{sid}/index.m3u8", camera, tmp_path / "one.mp4")
    assert size == LO
    # Both lo publishers' media, each at most its 3 s from its first IDR: more than one of
    # them could give (how much more depends on how soon each connected on a loaded machine).
    assert 3.0 < lo_s <= 7.0, lo_s
    # The whole copy in one piece: its timestamps only ever go forward.
    folder = rec_cloud.data_dir / "recordings" / sid / rec["id"] / "lo"
    whole = tmp_path / "lo.mp4"
    parts = [folder / "init.mp4", *lo_segments(rec_cloud, sid)]
    whole.write_bytes(b"".join(p.read_bytes() for p in parts))
    assert decode_errors(whole) == ""
    fmt = probe(whole)["format"]
    assert abs(float(fmt["duration"]) - float(fmt["start_time"]) - lo_s) < 0.5, fmt


def lo_segments(server: CloudServer, session_id: str) -> list[Path]:
    return sorted((server.data_dir / "recordings" / session_id).glob("*/lo/*.m4s"))


def test_a_copy_begins_at_lo_s_latest_idr_when_lo_went_live_first(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    """lo's publisher often goes live before hi's (its first frames probe faster): the copy
    begins at the IDR lo sent before the recording began, which the recorder kept. With a
    30 s GOP on lo that is its only IDR: without it there would be no copy at all."""
    assert rec_cloud.srt_port is not None
    sid = show.session_id
    camera = participant(api, director, show, role="camera", camera=1)
    port = rec_cloud.srt_port
    long_gop = ("--idr-interval", "30")
    with publisher(show, port, tmp_path / "lo.log", layers="lo", extra=long_gop):

        def lo_live() -> bool:
            r = api.get(f"/whep/{sid}/status", headers=show.viewer_auth)
            return r.status_code == 200 and "lo" in r.json()["layers"]

        wait_until(lo_live, 30, "lo live")
        with publisher(show, port, tmp_path / "hi.log", layers="hi", duration=3) as hi:
            hi.popen.wait(60)
    (rec,) = wait_recordings(api, sid, director, 1, "ended")
    assert rec["lo_bytes"], rec
    size, lo_s, _ = played(api, f"/hls/{sid}/index.m3u8", camera, tmp_path / "one.mp4")
    assert size == LO
    _, hi_s, _ = played(api, f"/hls/{sid}/index.m3u8", show.viewer_auth, tmp_path / "one.mp4")
    assert lo_s >= hi_s - 0.5, (lo_s, hi_s)  # from before hi's first frame
