"""The playout-delay extension: found in Chromium's offer, put back into aiortc's answer,
and carried on every video packet next to aiortc's own extensions."""

from __future__ import annotations

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, unpack_header_extensions

from cloud.gateway import playout
from cloud.gateway.packetize import extension_block

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
# The shape of Chromium 156's offer (extmap lines as it writes them), cut down.
OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=extmap-allow-mixed",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
        "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=mid:0",
        "a=recvonly",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=mid:1",
        "",
    ]
)


def test_the_offered_id_is_read_from_the_video_section_only() -> None:
    assert playout.offered_id(OFFER) == 5
    no_video_extension = OFFER.replace(f"a=extmap:5 {playout.URI}\r\n", "")
    assert playout.offered_id(no_video_extension) is None
    # Offered for audio only (no browser does): not ours to use on video.
    audio_only = no_video_extension.replace("a=mid:1", f"a=extmap:5 {playout.URI}\r\na=mid:1")
    assert playout.offered_id(audio_only) is None


def test_the_answer_gets_the_extension_in_its_video_section_after_the_others() -> None:
    answer = OFFER.replace(f"a=extmap:5 {playout.URI}\r\n", "").replace("recvonly", "sendonly")
    got = playout.negotiate(answer, 5)
    video, audio = got.split("\r\nm=audio")
    lines = video.split("\r\n")
    assert (
        lines.index(f"a=extmap:5 {playout.URI}")
        == lines.index("a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid") + 1
    )
    assert playout.URI not in audio
    assert got.replace(f"a=extmap:5 {playout.URI}\r\n", "") == answer


def test_the_element_counts_in_ten_millisecond_steps() -> None:
    assert playout.element(0, 100) == bytes([0x00, 0x00, 0x0A])
    assert playout.element(40, 4090) == bytes([0x00, 0x41, 0x99])
    with pytest.raises(ValueError):
        playout.element(200, 100)
    with pytest.raises(ValueError):
        playout.element(0, 41_000)


def aiortc_extensions(ids: dict[str, int]) -> tuple[int, bytes]:
    """What aiortc's own map makes for mid "0" and a send time, with `ids` negotiated."""
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(i, uri) for uri, i in ids.items()]
        )
    )
    return extensions.set(HeaderExtensions(mid="0", abs_send_time=0x123456))


def parsed(block: bytes) -> list[tuple[int, bytes]]:
    profile, words = int.from_bytes(block[:2], "big"), int.from_bytes(block[2:4], "big")
    assert len(block) == 4 + 4 * words, "framed in whole words"
    return unpack_header_extensions(profile, block[4:])


def test_the_element_rides_next_to_aiortcs_extensions() -> None:
    element = (5, playout.element())
    for ids in ({MID_URI: 9, ABS_SEND_TIME_URI: 2}, {MID_URI: 15, ABS_SEND_TIME_URI: 2}):
        block = extension_block(*aiortc_extensions(ids), [element])
        assert parsed(block) == [(ids[MID_URI], b"0"), (2, b"\x12\x34\x56"), element]
    # Nothing of aiortc's negotiated: the element alone.
    assert parsed(extension_block(*aiortc_extensions({}), [element])) == [element]
