"""Interop with a real, independent SRT peer: Debian's ffmpeg (built with libsrt)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import av
import pytest

from media.srt import (
    LOW_LATENCY_DEMUX,
    AcceptDecision,
    Address,
    RejectReason,
    SrtListener,
    SrtOptions,
    SrtReader,
    SrtTimeout,
    StreamId,
    StreamIdError,
    connect,
    format_streamid,
    listen,
    parse_streamid,
)
from tests.media.srt.support import (
    PASSPHRASE,
    Closer,
    binary,
    ffprobe_streams,
    has_idr,
    make_ts,
    udp_port_bound,
    wait_for,
)
from tests.support.procs import free_udp_port

TOKEN = "ffmpeg-token-0123456789ab"
LATENCY_MS = 20


def vet(streamid: str, peer: Address) -> AcceptDecision:
    try:
        sid = parse_streamid(streamid)
    except StreamIdError:
        return AcceptDecision.reject(RejectReason.BAD_REQUEST)
    if sid.session_id != "show1" or sid.token != TOKEN:
        return AcceptDecision.reject(RejectReason.FORBIDDEN)
    return AcceptDecision.allow(passphrase=PASSPHRASE)


def caller_url(port: int, streamid: str) -> str:
    # ffmpeg 5.1 passes the streamid through verbatim (no URL-decoding), and our form has no
    # "&" or "?" that would end it early, so it goes in as it is.
    assert "&" not in streamid and "?" not in streamid
    query = (
        f"mode=caller&pkt_size=1316&streamid={streamid}"
        f"&passphrase={PASSPHRASE}&pbkeylen=32&latency={LATENCY_MS * 1000}"  # ffmpeg: µs
    )
    return f"srt://127.0.0.1:{port}?{query}"


def ffmpeg_publish(port: int, streamid: str, seconds: float, log: Path) -> subprocess.Popen[bytes]:
    """ffmpeg as the director would be: a live H.264 test picture, sent as a caller."""
    args = [
        binary("ffmpeg"),
        *("-nostdin", "-hide_banner", "-loglevel", "warning", "-re"),
        *("-f", "lavfi", "-i", "testsrc=size=320x180:rate=30", "-t", str(seconds)),
        *("-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30"),
        *("-f", "mpegts", caller_url(port, streamid)),
    ]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


@pytest.fixture
def listener(closing: Closer) -> SrtListener:
    return closing(listen("127.0.0.1", 0, SrtOptions(latency_ms=LATENCY_MS), accept_filter=vet))


def good_streamid(layer: str = "hi") -> str:
    return format_streamid(StreamId("show1", layer, TOKEN))


def test_our_caller_to_ffmpeg_listener(closing: Closer, tmp_path: Path) -> None:
    port = free_udp_port()
    out = tmp_path / "received.ts"
    url = (
        f"srt://127.0.0.1:{port}?mode=listener&passphrase={PASSPHRASE}&pbkeylen=32"
        f"&latency={LATENCY_MS * 1000}"
    )
    log = tmp_path / "ffmpeg.log"
    ffmpeg = subprocess.Popen(
        [
            binary("ffmpeg"),
            *("-nostdin", "-hide_banner", "-loglevel", "warning", "-y"),
            *("-i", url, "-c", "copy", "-f", "mpegts", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        wait_for(lambda: udp_port_bound(port) or ffmpeg.poll() is not None, 5, "ffmpeg to listen")
        ts = make_ts(1.0)
        options = SrtOptions(latency_ms=LATENCY_MS, passphrase=PASSPHRASE, conn_timeout_ms=2000)
        conn = closing(connect("127.0.0.1", port, options))
        for start in range(0, len(ts), 1316 * 4):
            conn.send(ts[start : start + 1316 * 4])
            time.sleep(0.002)
        assert conn.drain(3)
        stats = conn.stats()
        conn.close()
        assert ffmpeg.wait(timeout=10) == 0, log.read_text()
    finally:
        if ffmpeg.poll() is None:
            ffmpeg.kill()
            ffmpeg.wait()
    assert stats.pkt_sent >= len(ts) // 1316 and stats.pkt_snd_drop == 0
    streams = {s["codec_type"]: s for s in ffprobe_streams(out)}
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 180)
    assert video["r_frame_rate"] == "30/1"
    assert int(video["nb_read_packets"]) == 30
    assert audio["codec_name"] == "opus"


def test_ffmpeg_caller_to_our_listener(
    listener: SrtListener, closing: Closer, tmp_path: Path
) -> None:
    log = tmp_path / "ffmpeg.log"
    ffmpeg = ffmpeg_publish(listener.address[1], good_streamid(), 2.0, log)
    try:
        conn = closing(listener.accept(timeout=8))
        assert parse_streamid(conn.streamid).resource == "show1/hi"
        with av.open(SrtReader(conn, timeout=5), format="mpegts", options=LOW_LATENCY_DEMUX) as c:
            video = c.streams.video[0]
            packets = [bytes(p) for p in c.demux(video) if p.size]
            size = (video.codec_context.width, video.codec_context.height)
            codec = video.codec_context.name
        assert ffmpeg.wait(timeout=10) == 0, log.read_text()
    finally:
        if ffmpeg.poll() is None:
            ffmpeg.kill()
            ffmpeg.wait()
    assert codec == "h264" and size == (320, 180)
    assert len(packets) >= 55  # 60 sent; the tail may still be in flight at close
    assert has_idr(packets[0])


def test_ffmpeg_with_a_bad_streamid_is_refused(
    listener: SrtListener, closing: Closer, tmp_path: Path
) -> None:
    forged = format_streamid(StreamId("show1", "hi", "forged-token-000000000000"))
    log = tmp_path / "ffmpeg.log"
    ffmpeg = ffmpeg_publish(listener.address[1], forged, 1.0, log)
    try:
        assert ffmpeg.wait(timeout=8) != 0
    finally:
        if ffmpeg.poll() is None:
            ffmpeg.kill()
            ffmpeg.wait()
    assert "reject" in log.read_text().lower()
    assert listener.rejected_count >= 1
    with pytest.raises(SrtTimeout):
        listener.accept(timeout=0.1)
    # Still up: the next, good caller gets in.
    options = SrtOptions(latency_ms=LATENCY_MS, passphrase=PASSPHRASE, streamid=good_streamid())
    caller = closing(connect(*listener.address, options))
    accepted = closing(listener.accept(timeout=2))
    caller.send(b"G" * 188)
    assert accepted.recv(timeout=2) == b"G" * 188
