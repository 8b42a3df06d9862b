"""SRT ingest refusals and robustness, against the real backend with real SRT callers."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from cloud.gateway.ingest import STALE_S
from tests.cloud.gateway.helpers import Show, live, metric, new_show, publisher
from tests.support.api import Director, bearer, invite, redeem
from tests.support.procs import wait_until

srt = pytest.importorskip("media.srt")
from media.srt import (  # noqa: E402
    RejectReason,
    SrtConnection,
    SrtError,
    SrtOptions,
    SrtRejected,
    StreamId,
    connect,
    format_streamid,
)


def caller(port: int, passphrase: str | None, streamid: str) -> SrtConnection:
    options = SrtOptions(
        latency_ms=20, passphrase=passphrase, streamid=streamid, conn_timeout_ms=2000
    )
    return connect("127.0.0.1", port, options)


def refused(port: int, passphrase: str | None, streamid: str) -> int:
    with pytest.raises(SrtRejected) as info:
        caller(port, passphrase, streamid).close()
    return int(info.value.reason_code)


def sid(show: Show, layer: str = "hi", token: str | None = None, extra: str = "") -> str:
    return (
        format_streamid(StreamId(show.session_id, layer, token or show.srt["publish_token"]))
        + extra
    )


def test_the_credentials_response_says_where_to_send(
    api: httpx.Client, show: Show, srt_port: int
) -> None:
    assert show.srt["srt_port"] == srt_port
    assert show.srt["srt_url"] == f"srt://127.0.0.1:{srt_port}"


def test_refusals_before_the_handshake_completes(
    api: httpx.Client, director: Director, show: Show, srt_port: int
) -> None:
    pp = show.srt["passphrase"]
    assert refused(srt_port, "x" * 43, sid(show)) == RejectReason.BADSECRET
    assert refused(srt_port, pp, sid(show, token="not-the-token")) == RejectReason.FORBIDDEN
    assert refused(srt_port, pp, "#!::r=nosuchsession/hi,m=publish,s=abc") == RejectReason.FORBIDDEN
    assert refused(srt_port, pp, "hello") == RejectReason.BAD_REQUEST
    # A viewer's participant token is no publish token.
    viewer = show.viewer_token.replace(".", "_")[:128]
    assert refused(srt_port, pp, sid(show, token=viewer)) == RejectReason.FORBIDDEN

    # Rotating: the old token and passphrase stop working at once, the new ones work.
    r = api.post(f"/api/sessions/{show.session_id}/srt/rotate", json={}, headers=director.auth)
    assert r.status_code == 200, r.text
    new = r.json()
    assert refused(srt_port, new["passphrase"], sid(show)) == RejectReason.FORBIDDEN
    fresh = format_streamid(StreamId(show.session_id, "hi", new["publish_token"]))
    conn = caller(srt_port, new["passphrase"], fresh)
    conn.close()

    # An ended session publishes nothing.
    api.post(f"/api/sessions/{show.session_id}/end", headers=director.auth)
    assert refused(srt_port, new["passphrase"], fresh) == RejectReason.FORBIDDEN


def test_one_publisher_per_layer_unless_it_takes_over(
    api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    pp = show.srt["passphrase"]
    with publisher(show, srt_port, tmp_path / "send.log", layers="hi") as proc:
        wait_until(lambda: live(api, show), 15, f"the publisher\n{proc.tail()}")
        assert refused(srt_port, pp, sid(show)) == RejectReason.CONFLICT
        # The other layer is free.
        caller(srt_port, pp, sid(show, "lo")).close()
        # Taking over is allowed, and the old publisher is closed.
        taker = caller(srt_port, pp, sid(show, extra=",o=takeover"))
        taker.close()


def test_a_silent_publisher_is_replaced_by_its_reconnect(
    api: httpx.Client, show: Show, srt_port: int
) -> None:
    """The director's network drops: its old connection is still the layer's publisher on
    the gateway (idle for up to 5 s), and its reconnect must not be refused with 1409."""
    pp = show.srt["passphrase"]
    before = metric(api, "gateway_srt_publishers")
    gone = caller(srt_port, pp, sid(show))  # connects, then sends nothing: a dead link
    wait_until(lambda: metric(api, "gateway_srt_publishers") == before + 1, 10, "the publisher")
    time.sleep(STALE_S + 0.2)  # silent longer than any live layer ever is
    back = caller(srt_port, pp, sid(show))  # no 1409
    try:
        wait_until(lambda: _closed(gone), 10, "the silent publisher to be closed")
        assert metric(api, "gateway_srt_publishers") == before + 1
    finally:
        back.close()
        gone.close()


def _closed(conn: SrtConnection) -> bool:
    try:
        conn.send(b"\x47" + bytes(187))
    except SrtError:
        return True
    return False


def test_garbage_is_counted_and_the_listener_stays_up(
    api: httpx.Client, director: Director, srt_port: int, tmp_path: Path
) -> None:
    show = new_show(api, director)
    errors_before = metric(api, "gateway_srt_stream_errors_total")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # not SRT at all
        for size in (1, 16, 1316, 1500):
            udp.sendto(os.urandom(size), ("127.0.0.1", srt_port))
    conn = caller(srt_port, show.srt["passphrase"], sid(show))
    try:
        for _ in range(40):  # a valid caller sending random bytes instead of MPEG-TS
            conn.send(os.urandom(1316))
            time.sleep(0.005)
        truncated = bytes([0x47]) + os.urandom(100)  # a sync byte, then a cut-off packet
        conn.send(truncated)
        wait_until(
            lambda: metric(api, "gateway_srt_stream_errors_total") > errors_before,
            10,
            "the garbage stream to be counted",
        )
    finally:
        conn.close()
    with publisher(show, srt_port, tmp_path / "send.log") as proc:
        wait_until(lambda: live(api, show), 15, f"the next publisher\n{proc.tail()}")


def test_whep_roles(api: httpx.Client, director: Director, show: Show) -> None:
    url = f"/whep/{show.session_id}"
    headers = {"Content-Type": "application/sdp"}
    assert api.post(url, content="v=0\r\n", headers=headers).status_code == 401
    # A camera phone watches its own session's program (its tally page's return feed): past
    # the role check, this offer is refused only for not being one.
    cam = invite(api, director, show.session_id, "camera", camera=1)
    cam_token = redeem(api, cam["token"]).json()["participant_token"]
    r = api.post(url, content="v=0\r\n", headers={**headers, **bearer(cam_token)})
    assert r.status_code == 400, r.text
    assert api.get(f"{url}/status", headers=bearer(cam_token)).status_code == 200
    # ... but a camera phone's token does not open the director's API.
    assert api.get("/api/sessions", headers=bearer(cam_token)).status_code == 403
    # A viewer or a camera phone of another session is refused.
    other = new_show(api, director)
    assert api.post(url, content="v=0", headers={**headers, **other.viewer_auth}).status_code == 403
    other_cam = invite(api, director, other.session_id, "camera", camera=1)
    other_token = redeem(api, other_cam["token"]).json()["participant_token"]
    r = api.post(url, content="v=0\r\n", headers={**headers, **bearer(other_token)})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"]["reason"] == "session"
    assert api.get(f"{url}/status", headers=bearer(other_token)).status_code == 403


def test_whep_input_limits(api: httpx.Client, show: Show) -> None:
    url = f"/whep/{show.session_id}"
    auth = show.viewer_auth
    sdp = {"Content-Type": "application/sdp", **auth}
    assert (
        api.post(url, content="v=0", headers={**auth, "Content-Type": "text/plain"}).status_code
        == 415
    )
    big = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" + "a=x\r\n" * 4000
    r = api.post(url, content=big, headers=sdp)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    assert api.post(url, content="hello", headers=sdp).status_code == 400
    assert api.post(url, content=b"v=0\xff\xfe m=video", headers=sdp).status_code == 400
    r = api.post(url, content="v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", headers=sdp)
    assert r.status_code in (400, 503), r.text  # no publisher yet: 503 first
    r = api.options(url)
    assert r.status_code == 204 and "POST" in r.headers["allow"]
    assert api.patch(f"{url}/abc", headers=auth).status_code == 405
    assert api.delete(f"{url}/nosuchviewer", headers=auth).status_code == 404


def test_no_publisher_is_503_with_retry_after(api: httpx.Client, show: Show) -> None:
    from tests.cloud.gateway.helpers import whep_offer_sdp

    r = api.post(
        f"/whep/{show.session_id}",
        content=whep_offer_sdp(),
        headers={"Content-Type": "application/sdp", **show.viewer_auth},
    )
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "2"
    assert r.json()["error"]["code"] == "no_publisher"
    status = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth).json()
    assert status == {
        "live": False,
        "layers": [],
        "viewers": 0,
        "ice_servers": [],
        "quality": {"ceiling": "auto", "reason": None},  # a viewer link: auto by default
    }
