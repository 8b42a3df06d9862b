"""The senders against our own SRT listener: demux, refusals, restarts, forced IDRs, stalls."""

from __future__ import annotations

import threading
import time

import pytest

from media.send.link import LinkPhase
from media.send.ts import PAT_PID, PTS_OFFSET
from media.srt import (
    RejectReason,
    SrtConnection,
    SrtError,
    SrtListener,
    SrtOptions,
    SrtTimeout,
    listen,
)
from tests.media.encode.show import Show, streamid, target, vet
from tests.media.encode.support import Demuxed, Receiver, demux_bytes
from tests.media.srt.support import Closer, wait_for

LATENCY = SrtOptions(latency_ms=20)


@pytest.fixture
def listener(closing: Closer) -> SrtListener:
    return closing(listen("127.0.0.1", 0, LATENCY, accept_filter=vet))


def read_for(conn: SrtConnection, seconds: float) -> bytes:
    """Everything the caller sends for `seconds` (or until it goes)."""
    data = bytearray()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = conn.recv(timeout=left)
        except SrtTimeout:
            break
        if not message:
            break
        data += message
    return bytes(data)


def tick(pts: int) -> int:
    return (pts - PTS_OFFSET) // 1500


def test_both_layers_demux_through_our_listener(show: Show, listener: SrtListener) -> None:
    port = listener.address[1]
    receivers = [Receiver(listener, frames=40), Receiver(listener, frames=20)]
    output = show.send({"hi": target(port, "hi"), "lo": target(port, "lo")})
    results: dict[str, Demuxed] = {}
    for receiver in receivers:
        result = receiver.wait()
        assert receiver.conn is not None
        results[receiver.conn.streamid.split("/")[1][:2]] = result
    hi, lo = results["hi"], results["lo"]
    assert hi.size == (640, 360) and lo.size == (320, 180)
    assert hi.profile == lo.profile == "Constrained Baseline"
    assert hi.idr_pts[0] == hi.video[0][0] and lo.idr_pts[0] == lo.video[0][0]
    # One timeline: every frame on the program's 60 fps grid, lo at most one per 1/30 s slot.
    assert all((pts - PTS_OFFSET) % 1500 == 0 for pts, _ in hi.video + lo.video)
    assert len({tick(pts) // 2 for pts, _ in lo.video}) == len(lo.video)
    assert hi.audio and lo.audio
    assert all(layer.connects >= 1 for layer in output.stats().layers)


def test_refusals_say_why(show: Show, listener: SrtListener) -> None:
    port = listener.address[1]
    output = show.send(
        {
            "hi": target(port, "hi", passphrase="not-the-passphrase-at-all"),
            "lo": target(port, "lo", streamid=streamid("lo", token="forged-token-0000")),
        }
    )

    def refused() -> dict[str, str] | None:
        stats = output.stats()
        states = {layer.name: layer.state for layer in stats.layers}
        return states if all(s.phase is LinkPhase.REJECTED for s in stats.layers) else None

    states = wait_for(refused, 8, "both layers refused")
    stats = output.stats()
    assert states["hi"].startswith("rejected: wrong passphrase (retry in")
    assert states["lo"].startswith("rejected: streamid refused")
    assert stats.layer("hi").reject_code == RejectReason.BADSECRET
    assert stats.layer("lo").reject_code == RejectReason.FORBIDDEN
    assert all(4.0 <= (layer.retry_in_s or 0) <= 6.0 for layer in stats.layers)  # the slow path
    assert all(layer.rejects == 1 and layer.connects == 0 for layer in stats.layers)


def test_a_restarted_listener_gets_a_clean_start(show: Show, closing: Closer) -> None:
    first = listen("127.0.0.1", 0, LATENCY, accept_filter=vet)
    port = first.address[1]
    output = show.send({"hi": target(port, "hi")})
    conn = first.accept(timeout=5)
    before = demux_bytes(read_for(conn, 0.5))
    conn.close()
    first.close()  # the gateway goes away ...
    time.sleep(0.3)
    second = closing(listen("127.0.0.1", port, LATENCY, accept_filter=vet))  # ... and returns
    conn = closing(second.accept(timeout=8))
    data = read_for(conn, 0.6)
    after = demux_bytes(data)
    assert ((data[1] & 0x1F) << 8 | data[2]) == PAT_PID  # a fresh muxer: PAT/PMT first
    assert after.idr_pts and after.idr_pts[0] == after.video[0][0]  # then an IDR
    assert after.video[0][0] > before.video[-1][0]  # the timeline carried on
    assert output.stats().layer("hi").connects == 2


def test_requested_keyframe_arrives_within_two_frames(show: Show, listener: SrtListener) -> None:
    output = show.send({"hi": target(listener.address[1], "hi")})
    conn = listener.accept(timeout=5)
    try:
        read_for(conn, 0.7)  # past the connection's own IDR
        requested = []

        def ask() -> None:
            time.sleep(0.3)
            latest = show.clock.latest_program
            assert latest is not None
            requested.append(latest.pts)
            output.request_keyframe("hi")

        asker = threading.Thread(target=ask)
        asker.start()
        received = demux_bytes(read_for(conn, 0.8))
        asker.join()
    finally:
        conn.close()
    ticks = [tick(pts) for pts in received.idr_pts]
    # The encoder may still hold the two frames queued before the request (queue size 2).
    assert any(requested[0] - 2 <= t <= requested[0] + 2 for t in ticks), (requested, ticks)


def test_a_listener_that_never_reads_does_not_slow_anything(
    show: Show, listener: SrtListener
) -> None:
    output = show.send({"hi": target(listener.address[1], "hi")})
    conn = listener.accept(timeout=5)
    try:
        ticks_before, started = show.clock.stats.ticks, time.monotonic()
        time.sleep(1.5)
        ticks = show.clock.stats.ticks - ticks_before
        stats = output.stats().layer("hi")
    finally:
        conn.close()
    assert ticks >= 0.85 * (time.monotonic() - started) * 60
    assert stats.phase is LinkPhase.CONNECTED and stats.frames_sent >= 60
    assert stats.queue_drops <= 3


class BlockingConnection:
    """A link whose sends hang, as a peer that stopped acknowledging could make them."""

    packet_filter = ""  # no FEC agreed, as a real connection without one says

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sends = 0

    def send(self, data: bytes) -> int:
        self.sends += 1
        self.release.wait(10)
        return len(data)

    def stats(self, clear: bool = False) -> None:
        raise SrtError(-1, "no stats")

    def drain(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        self.release.set()


def test_a_hung_send_drops_at_the_sender_and_the_clock_keeps_time(show: Show) -> None:
    link = BlockingConnection()
    output = show.send({"hi": target(9, "hi")}, connect_fn=lambda *_: link)
    wait_for(lambda: output.stats().layer("hi").send_drops >= 20, 5, "drops at the sender")
    stats = output.stats().layer("hi")
    clock = show.clock.stats
    assert link.sends == 1  # everything since the first send waited behind it
    assert stats.queue_drops <= 3  # the encoder was never held up ...
    assert clock.skipped_ticks <= 0.05 * clock.ticks  # ... nor the clock
    assert stats.encode_fps > 40
