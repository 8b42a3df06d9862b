"""Offers a real client could send wrong get a 400 naming the SDP line at fault, never
aiortc's internals, and never a 201 for a viewer who would get no picture."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from cloud.gateway import playout
from tests.cloud.gateway.helpers import Show, live, publisher, whep_offer_sdp
from tests.support.api import bearer
from tests.support.cloud import CloudServer
from tests.support.procs import wait_until

INTERNALS = ("NoneType", "attribute", "invalid literal", "StopIteration", "Traceback")


def _without(sdp: str, attribute: str) -> str:
    return re.sub(rf"a={attribute}:[^\r]*\r\n", "", sdp)


def _vp8_only(sdp: str) -> str:
    """aiortc's offer offers VP8 (97, rtx 98) before H.264 (99..102): keep VP8 alone."""
    assert "m=video 9 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102" in re.sub(
        r"m=video \d+", "m=video 9", sdp
    )
    sdp = re.sub(r"(m=video \d+ UDP/TLS/RTP/SAVPF 97 98) 99 100 101 102", r"\1", sdp)
    return re.sub(r"a=(?:rtpmap|fmtp|rtcp-fb):(?:99|100|101|102) [^\r]*\r\n", "", sdp)


def _with_playout(sdp: str, ext_id: int) -> str:
    first_video_extmap = "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    assert first_video_extmap in sdp
    return sdp.replace(
        first_video_extmap, f"{first_video_extmap}a=extmap:{ext_id} {playout.URI}\r\n", 1
    )


def _post(api: httpx.Client, show: Show, sdp: str) -> httpx.Response:
    return api.post(
        f"/whep/{show.session_id}",
        content=sdp,
        headers={**show.viewer_auth, "Content-Type": "application/sdp"},
    )


def _refused(r: httpx.Response, reason: str, says: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["details"]["reason"] == reason, error
    assert says in error["message"], error
    assert not any(word in error["message"] for word in INTERNALS), error


def test_bad_offers_get_clear_400s_while_the_program_is_on(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    offer = whep_offer_sdp()
    log_before = len(gw_cloud.log_text())
    with publisher(show, srt_port, tmp_path / "send.log", layers="lo") as proc:
        wait_until(lambda: live(api, show), 15, f"a live publisher\n{proc.tail()}")
        _refused(_post(api, show, _without(offer, "setup")), "dtls", "a=setup")
        _refused(_post(api, show, _without(offer, "fingerprint")), "dtls", "a=fingerprint")
        _refused(_post(api, show, _without(offer, "ice-pwd")), "ice", "a=ice-pwd")
        bad_rtpmap = re.sub(r"a=rtpmap:(\d+) ", r"a=rtpmap:\1x ", offer, count=1)
        _refused(_post(api, show, bad_rtpmap), "unreadable", "not an SDP this server can read")
        _refused(_post(api, show, _without(offer, "rtpmap")), "unreadable", "a=rtpmap")
        _refused(_post(api, show, _vp8_only(offer)), "codec", "H.264")
        # The playout-delay extension Chromium offers, under ids the one-byte header cannot
        # carry, or under one the video gives another extension too (3: abs-send-time).
        for ext_id in (15, 0, 300, 3):
            _refused(_post(api, show, _with_playout(offer, ext_id)), "extension_id", "playout")
        good = _post(api, show, _with_playout(offer, 5))
        assert good.status_code == 201, good.text
        assert f"a=extmap:5 {playout.URI}" in good.text
        api.delete(good.headers["location"], headers=show.viewer_auth)
    log = gw_cloud.log_text()[log_before:]
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    assert gw_cloud.alive()


def test_a_bad_offer_is_named_before_the_program_is_on(api: httpx.Client, show: Show) -> None:
    # No publisher: the offer's fault is still the answer, not "retry in 2 s".
    r = _post(api, show, _without(whep_offer_sdp(), "setup"))
    _refused(r, "dtls", "a=setup")
    assert bearer(show.viewer_token)  # the same viewer may try again with a fixed offer
