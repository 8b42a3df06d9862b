"""A show is recorded while it is live, and plays back as segments and as one MP4: a real
`returnfeed send` into the real backend, ffprobe and ffmpeg as the independent check."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cloud.gateway.helpers import Show, metric, new_show, publisher
from tests.cloud.record.support import (
    decode_errors,
    fetch,
    probe,
    recordings,
    top_boxes,
    wait_recordings,
)
from tests.support.api import Director, bearer, invite, redeem, register
from tests.support.cloud import CloudServer

SHOW_S = 6.0


def test_show_recorded_and_downloads_as_one_faststart_mp4(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    assert rec_cloud.srt_port is not None
    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log", duration=SHOW_S) as sender:
        sender.popen.wait(60)
    (rec,) = wait_recordings(api, show.session_id, director, 1, "ended")
    assert rec["reason"] == "publisher_left"
    assert rec["segments"] >= 2
    assert 3.0 <= rec["duration_s"] <= SHOW_S + 1

    base = f"/api/sessions/{show.session_id}/recordings/{rec['id']}"
    mp4 = fetch(api, f"{base}/program.mp4", director.auth, tmp_path / "program.mp4")
    info = probe(mp4)
    codecs = sorted(s["codec_name"] for s in info["streams"])
    assert codecs == ["h264", "opus"]
    assert abs(float(info["format"]["duration"]) - rec["duration_s"]) < 0.5
    boxes = top_boxes(mp4.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    assert "moof" not in boxes  # one plain MP4, not fragments
    assert decode_errors(mp4) == ""

    # Each segment plays after the init, on its own: 1-2.5 s, cut at an IDR.
    init = api.get(f"{base}/init.mp4", headers=director.auth).content
    listing = api.get(f"/hls/{show.session_id}/index.m3u8", headers=director.auth)
    names = [line for line in listing.text.splitlines() if line.endswith(".m4s")]
    assert len(names) == rec["segments"]
    for name in names:
        segment = api.get(f"/hls/{show.session_id}/{name}", headers=director.auth)
        assert segment.status_code == 200
        path = tmp_path / "one.mp4"
        path.write_bytes(init + segment.content)
        assert decode_errors(path) == "", name
        fmt = probe(path)["format"]
        # A segment keeps its place on the recording's timeline (tfdt): it starts late.
        duration = float(fmt["duration"]) - float(fmt["start_time"])
        assert duration <= 2.5, (name, duration)
    assert "#EXT-X-ENDLIST" in listing.text

    assert metric(api, "record_segments_total") >= rec["segments"] + 1
    assert metric(api, "record_bytes_written_total") >= rec["bytes"] - mp4.stat().st_size


def test_camera_and_viewer_links_read_only_the_director_deletes(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    assert rec_cloud.srt_port is not None
    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log", duration=3) as sender:
        sender.popen.wait(60)
    (rec,) = wait_recordings(api, show.session_id, director, 1, "ended")
    sid = show.session_id
    camera_link = invite(api, director, sid, "camera", camera=1)
    camera = bearer(redeem(api, camera_link["token"]).json()["participant_token"])
    for auth in (show.viewer_auth, camera):
        assert [r["id"] for r in recordings(api, sid, auth)["recordings"]] == [rec["id"]]
        assert api.get(f"/hls/{sid}/index.m3u8", headers=auth).status_code == 200
        r = api.delete(f"/api/sessions/{sid}/recordings/{rec['id']}", headers=auth)
        assert r.status_code == 403, r.text

    assert api.get(f"/api/sessions/{sid}/recordings").status_code == 401
    other = register(api, "Someone else")
    r = api.get(f"/api/sessions/{sid}/recordings", headers=other.auth)
    assert r.status_code == 404  # someone else's session looks like no session

    r = api.delete(f"/api/sessions/{sid}/recordings/{rec['id']}", headers=director.auth)
    assert r.status_code == 204
    assert recordings(api, sid, director.auth)["recordings"] == []
    r = api.get(f"/api/sessions/{sid}/recordings/{rec['id']}/init.mp4", headers=director.auth)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_an_audience_link_plays_the_hls_without_a_login(
    rec_cloud: CloudServer, api: httpx.Client, director: Director, show: Show, tmp_path: Path
) -> None:
    assert rec_cloud.srt_port is not None
    sid = show.session_id
    assert api.get(f"/hls/{sid}/index.m3u8").status_code == 401  # no public URL by default
    r = api.post(f"/api/sessions/{sid}/audience", json={}, headers=show.viewer_auth)
    assert r.status_code == 403  # only the director makes one
    r = api.post(f"/api/sessions/{sid}/audience", json={"ttl_s": 3600}, headers=director.auth)
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith(f"{rec_cloud.base_url}/hls/{sid}/a/")
    with publisher(show, rec_cloud.srt_port, tmp_path / "send.log", duration=3) as sender:
        sender.popen.wait(60)
    wait_recordings(api, sid, director, 1, "ended")

    playlist = httpx.get(url)
    assert playlist.status_code == 200
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert playlist.headers["access-control-allow-origin"] == "*"
    first = next(line for line in playlist.text.splitlines() if line.endswith(".m4s"))
    base = url.rsplit("/", 1)[0]
    assert httpx.get(f"{base}/{first}").status_code == 200

    token = url.split("/a/")[1].split("/")[0]
    forged = url.replace(token, token[:-1] + ("0" if token[-1] != "0" else "1"))
    r = httpx.get(forged)
    assert r.status_code == 403
    assert r.json()["error"]["details"]["reason"] == "token_invalid"
    other = api.post(
        f"/api/sessions/{new_show(api, director).session_id}/audience",
        json={},
        headers=director.auth,
    ).json()["url"]
    other_token = other.split("/a/")[1].split("/")[0]
    assert httpx.get(url.replace(token, other_token)).status_code == 403

    # Revoked: every link made so far stops, the playlist and its segments; one made after
    # plays. Only the director revokes.
    audience = f"/api/sessions/{sid}/audience"
    assert api.delete(audience, headers=show.viewer_auth).status_code == 403
    assert api.delete(audience, headers=director.auth).status_code == 204
    for gone in (url, f"{base}/{first}"):
        r = httpx.get(gone)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["details"]["reason"] == "token_revoked"
    fresh = api.post(audience, json={}, headers=director.auth).json()["url"]
    assert httpx.get(fresh).status_code == 200
    # A generation the link was not made in, claimed by hand, is a forgery.
    expires, epoch, _mac = fresh.split("/a/")[1].split("/")[0].split(".")
    claimed = fresh.replace(f"{expires}.{epoch}.", f"{expires}.{int(epoch) + 1}.")
    assert httpx.get(claimed).json()["error"]["details"]["reason"] == "token_invalid"
