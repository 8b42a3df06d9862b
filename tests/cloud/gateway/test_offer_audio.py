"""Which offers get audio: only one whose audio section the browser would receive on."""

from __future__ import annotations

import pytest

from cloud.gateway.viewer import offers_audio

VIDEO = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 H264/90000\r\n"


def audio(direction: str) -> str:
    return f"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na={direction}\r\na=rtpmap:111 opus/48000/2\r\n"


@pytest.mark.parametrize(
    ("sections", "wanted"),
    [
        (VIDEO, False),
        (VIDEO + audio("recvonly"), True),
        (audio("sendrecv") + VIDEO, True),
        (VIDEO + audio("inactive"), False),
        (VIDEO + audio("sendonly"), False),  # the browser would only send: nothing to play
    ],
)
def test_offers_audio(sections: str, wanted: bool) -> None:
    assert offers_audio("v=0\r\ns=-\r\nt=0 0\r\n" + sections) is wanted
